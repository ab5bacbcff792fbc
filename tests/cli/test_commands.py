import os

import pytest

from rmtc.cli.main import app, main


def _plate(folder, n=3):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"plate.{1001 + i}.exr").write_bytes(os.urandom(2048))
    return str(folder / "plate.####.exr")


def test_init_makes_a_project_that_other_commands_find(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("RMTC_STORE", raising=False)
    assert main(["init", str(tmp_path / "show")]) == 0
    monkeypatch.chdir(tmp_path / "show")
    assert main(["ls", "asset", "--json"]) == 0
    assert '"items": []' in capsys.readouterr().out


def test_the_whole_tracking_flow_through_the_cli(cli, tmp_path):
    cli("talent", "add", "ava_reyes")
    cli(
        "license", "add", "ava-2026", "--grants", "training", "--party", "ava_reyes", "--finish", "2027-12-31"
    )
    ingest = cli.json(
        "ingest",
        _plate(tmp_path / "sh010"),
        "--talent",
        "ava_reyes",
        "--license",
        "ava-2026",
        "--dataset",
        "beauty",
    )
    assert ingest["created"] == 3 and all(a["kind"] == "asset" and a["id"] for a in ingest["assets"])
    version = cli.json("dataset", "snapshot", "beauty", "-m", "first")
    assert version["kind"] == "dataset_version" and version["member_count"] == 3
    listed = cli.json("ls", "asset")["items"]
    assert len(listed) == 3 and {"id", "kind"} <= set(listed[0])
    shown = cli.json("show", "dataset:beauty@1")
    assert shown["id"] == version["id"]
    trace = cli.json("trace", "dataset:beauty@1", "--up")
    kinds = {n["kind"] for n in trace["nodes"]}
    assert {"asset", "party", "license", "dataset"} <= kinds
    assert cli.json("dataset", "ls")[0]["latest_version"] == 1
    members = cli.json("dataset", "show", "beauty@1")["members"]
    assert len(members) == 3
    log = cli.json("log")
    assert {"ingest", "dataset.snapshot", "license.add"} <= {e["action"] for e in log}
    assert cli.json("verify")["ok"] is True


def test_runs_are_listed_and_filtered(cli, project_dir):
    import rmtc

    with rmtc.open(project_dir) as t:
        for i in range(3):
            with t.runs.start(f"r{i}", params={"lr": 0.1 * (i + 1)}) as run:
                run.log_metrics({"loss": 1.0 - i * 0.3}, step=0)
    assert len(cli.json("run", "ls")) == 3
    found = cli.json("run", "ls", "--metric", "loss<0.5")
    assert [r["name"] for r in found] == ["r2"]
    shown = cli.json("run", "show", found[0]["id"])
    assert shown["status"] == "finished" and shown["series"]["loss"][0]["value"] == pytest.approx(0.4)


def test_verify_names_a_corrupted_blob_and_fails(cli, tmp_path, project_dir):
    ingest = cli.json("ingest", _plate(tmp_path / "sh010", n=2))
    import rmtc

    with rmtc.open(project_dir) as t:
        asset = t.get(__import__("uuid").UUID(ingest["assets"][0]["id"]))
        path = t.blobs.local_path(asset.content_hash)
    os.chmod(path, 0o644)
    with open(path, "r+b") as f:
        f.write(b"\xff")
    out, _ = cli("verify", expect=1)
    assert "corrupt" in out and "plate.1001.exr" in out


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["show", "dataset:ghost"], 3, "dataset:ghost matches nothing"),
        (["ingest", "/no/such/plate.exr"], 3, "does not exist"),
        (["ingest", "/no/such/plate.####.exr"], 3, "no frames"),
        (["ls", "spaceship"], 2, "unknown kind"),
        (["license", "add", "x", "--start", "2027-01-01", "--finish", "2026-01-01"], 2, "finishes"),
        (["license", "add", "y", "--finish", "next year"], 2, "is not a date"),
        (["ingest", "."], 3, "party:nobody"),
        (["run", "ls", "--metric", "loss<<1"], 2, "metric filter"),
    ],
)
def test_bad_input_gets_one_clear_line_and_a_nonzero_exit(cli, args, code, needle):
    if args == ["ingest", "."]:
        args = ["ingest", ".", "--talent", "nobody"]
    out, err = cli(*args, expect=code)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert needle in lines[0] and lines[0].startswith("error:")
    assert "Traceback" not in err + out


def test_a_duplicate_name_is_one_line_too(cli):
    cli("dataset", "create", "plates")
    _, err = cli("dataset", "create", "plates", expect=4)
    assert "already exists" in err


def test_plugins_lists_the_builtin_stores(cli):
    groups = {g["group"]: g for g in cli.json("plugins")}
    assert "sqlite" in groups["rmtc.stores"]["loaded"]


def _commands():
    import typer.main

    group = typer.main.get_group(app)
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            for sub, subcmd in cmd.commands.items():
                yield f"{name} {sub}", subcmd
        else:
            yield name, cmd


@pytest.mark.parametrize(("name", "command"), list(_commands()))
def test_every_command_has_help_and_is_documented(name, command):
    from pathlib import Path

    assert (command.help or "").strip(), f"rmtc {name} has no help text"
    docs = (Path(__file__).resolve().parents[2] / "docs" / "cli.md").read_text()
    assert f"rmtc {name}" in docs, f"rmtc {name} is missing from docs/cli.md"


def test_export_writes_a_standard_document_atomically(cli, tmp_path):
    cli.json("ingest", _plate(tmp_path / "sh010", n=1), "--dataset", "d")
    cli("dataset", "snapshot", "d")
    target = tmp_path / "prov.json"
    cli("export", "dataset:d@1", "--format", "prov-json", "-o", str(target))
    import json

    assert "entity" in json.loads(target.read_text())
    _, err = cli("export", "dataset:d@1", "--format", "yaml", expect=2)
    assert "prov-json" in err


def test_trace_renders_dot_and_shortest_paths(cli, tmp_path):
    cli("talent", "add", "ava")
    cli("license", "add", "l", "--grants", "training", "--party", "ava")
    cli.json("ingest", _plate(tmp_path / "sh010", n=1), "--talent", "ava", "--license", "l", "--dataset", "d")
    cli("dataset", "snapshot", "d")
    out, _ = cli("trace", "dataset:d@1", "--up", "--format", "dot")
    assert out.startswith("digraph provenance")
    path = cli.json("trace", "dataset:d@1", "--to", "party:ava")
    assert [p["kind"] for p in path] == ["dataset_version", "asset", "party"]
