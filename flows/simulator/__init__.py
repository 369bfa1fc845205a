"""The simulated city: sensors of every kind with daily and weekly rhythms, noise and gaps,
citizen channels, scripted incidents and deliberately broken records, written as the NDJSON
files the sources read.  `write_demo_inputs` makes the demo's files, `write_test_scenario` a
small scenario for tests, `simulate` anything else."""

from .incidents import DEFAULT_INCIDENTS, INCIDENT_TYPES, Incident, IncidentType
from .simulate import (
    FILES,
    MANIFEST,
    SimulationOptions,
    SimulationResult,
    sample_registry,
    simulate,
    write_demo_inputs,
    write_test_scenario,
)

__all__ = [
    "DEFAULT_INCIDENTS",
    "FILES",
    "INCIDENT_TYPES",
    "MANIFEST",
    "Incident",
    "IncidentType",
    "SimulationOptions",
    "SimulationResult",
    "sample_registry",
    "simulate",
    "write_demo_inputs",
    "write_test_scenario",
]
