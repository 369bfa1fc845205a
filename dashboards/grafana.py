"""The Grafana build the dashboards target, and the data sources they query.

grafana-foundation-sdk publishes one Python build per Grafana release under the same package
name; a plain `pip install grafana-foundation-sdk` takes the 10.1 build, whose dashboards carry
an older schema.  The project pins the 11.6 build explicitly (`1769699379!11.6.0`) and checks it
here, so a wrong build fails loudly instead of writing dashboards Grafana 11 must migrate."""

from __future__ import annotations

from importlib import metadata
from typing import Any, Final

from grafana_foundation_sdk.models.dashboard import DataSourceRef

from alerts.explain import DEFAULT_TZ

SDK_DISTRIBUTION: Final = "grafana-foundation-sdk"
SDK_VERSION: Final = "1769699379!11.6.0"
GRAFANA_VERSION: Final = "11.6.0"
SCHEMA_VERSION: Final = 41  # what Grafana 11.6 writes; the SDK's Dashboard default
FOLDER_UID: Final = "citysigns"
FOLDER_TITLE: Final = "citysigns"
TAG: Final = "citysigns"
# The wall shows the city's clock, as tickets and warnings do (+08:00), whatever the zone of
# the computer that shows it ("browser" put a wall PC left on UTC eight hours behind)
CITY_TIMEZONE: Final = DEFAULT_TZ

PROMETHEUS_UID: Final = "citysigns-prometheus"
POSTGRES_UID: Final = "citysigns-tickets"
PROMETHEUS_TYPE: Final = "prometheus"
POSTGRES_TYPE: Final = "grafana-postgresql-datasource"  # Grafana 11's id of PostgreSQL
MIXED: Final = DataSourceRef(type_val="datasource", uid="-- Mixed --")
PROMETHEUS: Final = DataSourceRef(type_val=PROMETHEUS_TYPE, uid=PROMETHEUS_UID)
POSTGRES: Final = DataSourceRef(type_val=POSTGRES_TYPE, uid=POSTGRES_UID)


def check_sdk_version() -> str:
    """The installed SDK build; ValueError if it is not the pinned Grafana 11.6 one."""
    found = metadata.version(SDK_DISTRIBUTION)
    if found != SDK_VERSION:
        raise ValueError(
            f"{SDK_DISTRIBUTION} {found} is installed, but the dashboards target Grafana "
            f"{GRAFANA_VERSION}: pip install '{SDK_DISTRIBUTION}=={SDK_VERSION}'"
        )
    return found


def datasources_provisioning(
    prometheus_url: str = "http://127.0.0.1:9090",
    postgres_host: str = "127.0.0.1:5432",
    postgres_database: str = "citysigns",
    postgres_user: str = "citysigns_reader",
) -> dict[str, Any]:
    """provisioning/datasources/citysigns.yaml.  The password is read from the environment of
    Grafana ($CITYSIGNS_PG_PASSWORD), never written into the file."""
    return {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "citysigns Prometheus",
                "uid": PROMETHEUS_UID,
                "type": PROMETHEUS_TYPE,
                "access": "proxy",
                "url": prometheus_url,
                "isDefault": True,
                "jsonData": {"timeInterval": "15s", "httpMethod": "POST"},
            },
            {
                "name": "citysigns tickets",
                "uid": POSTGRES_UID,
                "type": POSTGRES_TYPE,
                "access": "proxy",
                "url": postgres_host,
                "user": postgres_user,
                "jsonData": {
                    "database": postgres_database,
                    "sslmode": "disable",
                    "postgresVersion": 1500,
                },
                "secureJsonData": {"password": "$CITYSIGNS_PG_PASSWORD"},
            },
        ],
    }


def dashboards_provisioning(path: str = "/var/lib/grafana/dashboards/citysigns") -> dict[str, Any]:
    """provisioning/dashboards/citysigns.yaml: a file provider reading the generated JSON."""
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "citysigns",
                "orgId": 1,
                "folder": FOLDER_TITLE,
                "folderUid": FOLDER_UID,
                "type": "file",
                "disableDeletion": False,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 60,
                "options": {"path": path, "foldersFromFilesStructure": False},
            }
        ],
    }
