"""Grafana dashboards generated from the catalog, and their provisioning files."""
