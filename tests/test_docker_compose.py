"""Static checks of the Docker stack (``docker/``): no engine runs here, so the compose file and the Dockerfile are
parsed and checked against what the code really reads (the Settings class, Prefect's and MLflow's own settings)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
COMPOSE_FILE = DOCKER / "compose.yaml"
DOCKERFILE = DOCKER / "Dockerfile"
WORKER_SERVICES = ("worker", "gpu-worker")
CHECKED_PREFIXES = ("BON_", "MLFLOW_", "PREFECT_")
# Read by the worker image's command (`prefect worker start --pool "$BON_WORK_POOL"`), not by Python code.
WORKER_COMMAND_ENV = {"BON_WORK_POOL"}


# ---------------------------------------------------------------------------------------------------- helpers
def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Resolve compose's ``${VAR:-default}`` / ``${VAR}`` / ``$$`` the way ``docker compose`` does for an empty env."""
    env = env or {}

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(3)
        return env.get(name) or (default if default is not None else "")

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-([^}]*))?\}", one, value).replace("$$", "$")


def settings_env_names(settings_cls: type) -> set[str]:
    """The environment names a pydantic-settings class reads: each field's aliases, or env_prefix + field name.

    Nested settings models (Prefect's layout) are walked recursively with their own prefixes."""
    from pydantic import AliasChoices, AliasPath
    from pydantic_settings import BaseSettings

    names: set[str] = set()
    prefix = settings_cls.model_config.get("env_prefix", "")
    for field_name, field in settings_cls.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            names |= settings_env_names(annotation)
            continue
        alias = field.validation_alias or field.alias
        if isinstance(alias, str):
            names.add(alias.upper())
        elif isinstance(alias, AliasChoices):
            names |= {choice.upper() for choice in alias.choices if isinstance(choice, str)}
            names |= {choice.path[0].upper() for choice in alias.choices if isinstance(choice, AliasPath)}
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


def bon_env_names() -> set[str]:
    """Every BON_/MLFLOW_/PREFECT_ name the bon code itself reads."""
    from bon_core.tasks.data import DATA_DIR_ENV
    from flows.settings import Settings

    return settings_env_names(Settings) | {DATA_DIR_ENV} | WORKER_COMMAND_ENV


def prefect_env_names() -> set[str]:
    from prefect.settings.models.root import Settings as PrefectSettings

    return settings_env_names(PrefectSettings)


def mlflow_env_names() -> set[str]:
    """MLflow's documented environment variables plus the ones its ``mlflow server`` options read."""
    import mlflow.environment_variables as mlflow_env
    from mlflow.cli import server

    names = {var.name for var in vars(mlflow_env).values() if isinstance(getattr(var, "name", None), str)}
    return names | {param.envvar for param in server.params if isinstance(param.envvar, str)}


def unknown_env_names(environment: dict[str, str], known: set[str]) -> set[str]:
    """Names with a checked prefix that nothing reads: typos and settings that were renamed."""
    return {name for name in environment if name.startswith(CHECKED_PREFIXES) and name not in known}


def service_env(service: dict) -> dict[str, str]:
    """A service's environment (mapping or list form), interpolated with compose's defaults."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {name: interpolate(str(value)) for name, value in raw.items()}


def is_one_shot(service: dict) -> bool:
    return str(service.get("restart", "no")) == "no"


def command_option(service: dict, option: str) -> str:
    command = service["command"]
    args = shlex.split(command) if isinstance(command, str) else [str(arg) for arg in command]
    return interpolate(args[args.index(option) + 1])


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            pairs.append((keyword.upper(), rest.strip()))
    return pairs


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict) -> dict[str, dict]:
    return compose["services"]


# ---------------------------------------------------------------------------------------------------- compose
def test_stack_has_store_servers_and_workers(services):
    assert {"postgres", "prefect-server", "mlflow", "migrate", "worker", "gpu-worker"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["prefect-server"]["image"].startswith("prefecthq/prefect:")


def test_every_long_running_service_has_a_healthcheck(services):
    for name, service in services.items():
        if is_one_shot(service):
            continue
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name} has no health check"


def test_published_ports_bind_to_localhost(services):
    published = [(name, str(port)) for name, s in services.items() for port in s.get("ports", [])]
    assert len(published) == 3  # postgres, prefect UI/API, mlflow UI/API
    for name, port in published:
        assert port.startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


def test_workers_serve_their_health_endpoint_on_loopback_only(services):
    for worker in WORKER_SERVICES:
        env = service_env(services[worker])
        assert env["PREFECT_WORKER_WEBSERVER_HOST"] == "127.0.0.1"
        assert f"http://127.0.0.1:{env['PREFECT_WORKER_WEBSERVER_PORT']}/health" in str(services[worker]["healthcheck"])


def test_servers_listen_on_every_interface_only_inside_their_containers(services):
    # prefect-server and mlflow bind 0.0.0.0 so the workers reach them over the compose network; their ports are
    # published on 127.0.0.1 only (test_published_ports_bind_to_localhost), and nothing else is published.
    for name in ("prefect-server", "mlflow"):
        assert command_option(services[name], "--host") == "0.0.0.0"
        assert all(str(port).startswith("127.0.0.1:") for port in services[name]["ports"])


def test_depends_on_waits_for_health_or_completion(services):
    for name, service in services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on without conditions starts too early"
        for dependency, spec in depends.items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            wanted = "service_completed_successfully" if is_one_shot(services[dependency]) else "service_healthy"
            assert spec.get("condition") == wanted, f"{name} -> {dependency}"
    for worker in WORKER_SERVICES:
        assert {"postgres", "prefect-server", "mlflow", "migrate"} <= set(services[worker]["depends_on"])


def test_unknown_env_name_is_caught():
    known = {"BON_DATABASE_URL"}
    env = {"BON_DATABASE_URI": "x", "BON_DATABASE_URL": "y", "POSTGRES_USER": "bon"}
    assert unknown_env_names(env, known) == {"BON_DATABASE_URI"}


def test_every_service_env_name_is_read_by_its_program(services):
    known = {
        "postgres": set(),
        "prefect-server": prefect_env_names(),
        "mlflow": mlflow_env_names(),
        "migrate": bon_env_names() | prefect_env_names() | mlflow_env_names(),
    }
    for worker in WORKER_SERVICES:
        known[worker] = known["migrate"]
    for name, service in services.items():
        assert unknown_env_names(service_env(service), known[name]) == set(), name


def test_worker_env_reaches_the_stack_through_settings(services, monkeypatch):
    from flows.settings import Settings

    mlflow_port = command_option(services["mlflow"], "--port")
    prefect_port = command_option(services["prefect-server"], "--port")
    for worker in WORKER_SERVICES:
        env = service_env(services[worker])
        assert env["BON_DATABASE_URL"] == "postgresql+psycopg://bon:bon@postgres:5432/bon"
        assert env["MLFLOW_TRACKING_URI"] == f"http://mlflow:{mlflow_port}"
        assert env["PREFECT_API_URL"] == f"http://prefect-server:{prefect_port}/api"
        assert env["BON_WORK_POOL"] in ("cpu", "gpu")
        for key in [k for k in os.environ if k.startswith(CHECKED_PREFIXES)]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = Settings()
        settings_values = {str(v) for v in settings.model_dump().values()}
        for key in ("BON_DATABASE_URL", "MLFLOW_TRACKING_URI", "PREFECT_API_URL"):
            assert env[key] in settings_values, f"Settings did not pick up {key} in {worker}"
        # Artifacts must go to the MLflow server, not to a folder on one worker's disk.
        assert not settings.mlflow_artifact_root or "://" in settings.mlflow_artifact_root
    assert services["worker"]["environment"]["BON_WORK_POOL"] != services["gpu-worker"]["environment"]["BON_WORK_POOL"]


def test_mlflow_server_accepts_the_worker_host_header(services):
    from mlflow.server.security_utils import is_allowed_host_header

    allowed = service_env(services["mlflow"])["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")
    worker_host = urlsplit(service_env(services["worker"])["MLFLOW_TRACKING_URI"]).netloc
    assert is_allowed_host_header(allowed, worker_host)  # "mlflow:5000" from the workers
    assert is_allowed_host_header(allowed, "127.0.0.1:5000")  # the health check and the host's browser
    assert not is_allowed_host_header(allowed, "evil.example.com")


def test_one_postgres_holds_the_three_databases(services):
    init_sql = (DOCKER / "postgres-init.sql").read_text()
    created = set(re.findall(r"CREATE DATABASE (\w+)", init_sql))
    pg_env = service_env(services["postgres"])
    mlflow_db = urlsplit(command_option(services["mlflow"], "--backend-store-uri"))
    prefect_db = urlsplit(service_env(services["prefect-server"])["PREFECT_API_DATABASE_CONNECTION_URL"])
    bon_db = urlsplit(service_env(services["worker"])["BON_DATABASE_URL"])
    assert mlflow_db.scheme == "postgresql+psycopg2" and mlflow_db.hostname == "postgres"
    assert prefect_db.scheme == "postgresql+asyncpg" and prefect_db.hostname == "postgres"
    assert mlflow_db.path.lstrip("/") in created and prefect_db.path.lstrip("/") in created
    assert bon_db.path.lstrip("/") == pg_env["POSTGRES_DB"] and bon_db.username == pg_env["POSTGRES_USER"]
    mounts = services["postgres"]["volumes"]
    assert "./postgres-init.sql:/docker-entrypoint-initdb.d/10-databases.sql:ro" in mounts
    assert (DOCKER / services["mlflow"]["build"]["dockerfile"]).read_text().count("psycopg2-binary") == 1


def test_volumes_keep_data_artifacts_and_the_store(compose, services):
    declared = set(compose["volumes"])
    assert declared == {"postgres-data", "mlflow-artifacts", "bon-data"}
    used = {str(v).split(":", 1)[0] for s in services.values() for v in s.get("volumes", [])}
    assert declared <= used
    artifacts_dir = command_option(services["mlflow"], "--artifacts-destination")
    assert f"mlflow-artifacts:{artifacts_dir}" in services["mlflow"]["volumes"]
    assert "--serve-artifacts" in services["mlflow"]["command"]


def test_gpu_worker_reserves_an_nvidia_gpu_under_its_profile(services):
    gpu = services["gpu-worker"]
    assert gpu["profiles"] == ["gpu"]
    devices = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]
    assert interpolate(gpu["build"]["args"]["TORCH_VARIANT"]).startswith("cu")
    assert services["worker"]["build"]["args"]["TORCH_VARIANT"] == "cpu"
    assert "profiles" not in services["worker"]


def test_migrate_runs_a_real_bon_command(services):
    import typer

    from flows.cli import app

    migrate = services["migrate"]
    assert is_one_shot(migrate)
    group = typer.main.get_command(app)
    words = migrate["command"]
    assert words[0] == "bon"
    command = group
    for word in words[1:]:
        assert word in command.commands, f"`{' '.join(words)}`: no command {word!r}"
        command = command.commands[word]


def test_env_example_sets_every_variable_compose_interpolates():
    interpolated = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE_FILE.read_text()))
    example = {
        line.split("=", 1)[0]
        for line in (DOCKER / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert interpolated == example


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="the docker compose plugin is not installed",
)
def test_docker_compose_config_accepts_the_file():
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "--profile", "gpu", "config", "-q"], capture_output=True
    )
    assert result.returncode == 0, result.stderr.decode()


# ---------------------------------------------------------------------------------------------------- Dockerfile
def test_dockerfile_copies_only_files_that_exist_and_are_not_ignored():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    copies = [args.split() for keyword, args in dockerfile_instructions() if keyword == "COPY"]
    assert copies
    for words in copies:
        sources = [w for w in words[:-1] if not w.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the build context"
            assert source not in ignored, f"COPY {source}: excluded by .dockerignore"


def test_dockerfile_installs_the_project_from_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    steps = dockerfile_instructions()
    copied = {w for keyword, args in steps if keyword == "COPY" for w in args.split()[:-1]}
    assert {"pyproject.toml", pyproject["project"]["readme"]} <= copied
    for pattern in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]:
        assert pattern.rstrip("*") in copied, f"package {pattern} is not copied into the image"
    runs = [args for keyword, args in steps if keyword == "RUN"]
    project_install = [i for i, run in enumerate(runs) if 'pip install ".[dask]"' in run]
    torch_install = [i for i, run in enumerate(runs) if "download.pytorch.org/whl/${TORCH_VARIANT}" in run]
    assert "dask" in pyproject["project"]["optional-dependencies"]
    assert project_install and torch_install and torch_install[0] < project_install[0]
    assert ("ARG", "TORCH_VARIANT=cpu") in steps


def test_dockerfile_runs_a_prefect_worker_as_non_root():
    steps = dockerfile_instructions()
    users = [args for keyword, args in steps if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    command = [args for keyword, args in steps if keyword == "CMD"][-1]
    assert "prefect worker start" in command and '--pool \\"$BON_WORK_POOL\\"' in command
    assert "--with-healthcheck" in command  # serves the /health the compose health check calls


def test_the_files_the_image_copies_build_a_complete_wheel(tmp_path):
    """Replay the Dockerfile's COPY steps into an empty folder and build the project there, as `pip install` does."""
    context = tmp_path / "app"
    context.mkdir()
    for keyword, args in dockerfile_instructions():
        if keyword != "COPY":
            continue
        *sources, destination = args.split()
        for source in sources:
            target = context / (Path(destination) if destination not in ("./", ".") else Path(source)).name
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(ROOT / source, context / Path(source).name)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(context)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (wheel,) = tmp_path.glob("bon-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("bon_core/__init__.py", "flows/cli/app.py", "flows/settings.py", "db/__init__.py"):
        assert package in names
    shipped_migrations = {n for n in names if n.startswith("db/migrations/versions/") and n.endswith(".py")}
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "db" / "migrations" / "versions").glob("*.py")}
    assert on_disk and shipped_migrations == on_disk  # `bon db upgrade` in the image needs every revision
