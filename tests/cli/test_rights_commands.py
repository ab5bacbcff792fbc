import os


def _plate(folder, name="plate", n=2):
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"{name}.{1001 + i}.exr").write_bytes(os.urandom(1024))
    return str(folder / f"{name}.####.exr")


def _setup(cli, tmp_path):
    cli("talent", "add", "ava")
    cli("talent", "add", "marcus")
    cli("license", "add", "plates", "--grants", "training", "--grants", "inference")
    cli("agreement", "add", "ava", "--grants", "training", "--grants", "inference", "--finish", "2030-01-01")
    cli("agreement", "add", "marcus", "--grants", "training")
    cli("ingest", _plate(tmp_path / "a", "ava"), "--talent", "ava", "--license", "plates", "--dataset", "d")
    cli(
        "ingest",
        _plate(tmp_path / "m", "marcus"),
        "--talent",
        "marcus",
        "--license",
        "plates",
        "--dataset",
        "d",
    )
    cli("dataset", "snapshot", "d")


def test_rights_check_and_contains_through_the_cli(cli, tmp_path):
    _setup(cli, tmp_path)
    report = cli.json("rights", "dataset:d@1", "--at", "2027-01-01")
    assert "training" in report["held"] and "inference" in report["withheld"]
    cli("check", "dataset:d@1", "--right", "training", "--at", "2027-01-01")
    out, _ = cli("check", "dataset:d@1", "--right", "inference", "--at", "2027-01-01", expect=1)
    assert "marcus" in out
    found = cli.json("contains", "dataset:d@1", "marcus")
    assert found["contains"] is True and found["paths"][0][-1]["label"] == "party:marcus"
    cli("dataset", "derive", "ava-only", "--from", "d@1", "--exclude-talent", "marcus")
    assert cli.json("contains", "dataset:ava-only@1", "marcus")["contains"] is False


def test_revoke_dry_run_then_apply_then_twice(cli, tmp_path):
    _setup(cli, tmp_path)
    dry = cli.json("revoke", "party:marcus", "--dry-run", "--reason", "consent withdrawn")
    assert dry["applied"] is False and dry["impact"]["dataset_versions"]
    assert dry["plan"]["datasets"][0]["keep"] == 2
    done = cli.json("revoke", "party:marcus", "--reason", "consent withdrawn")
    assert done["applied"] is True
    _, err = cli("revoke", "party:marcus", expect=4)
    assert "already revoked" in err


def test_purge_and_report_through_the_cli(cli, tmp_path):
    _setup(cli, tmp_path)
    asset = cli.json("ls", "asset", "--name", "marcus.1001")["items"][0]
    out = cli.json("purge", asset["id"], "--reason", "right to be forgotten")
    assert out["erased"] is True and out["flagged"]
    assert cli.json("verify")["ok"] is True  # a purged blob is not "missing"
    report = tmp_path / "r.html"
    cli("report", "dataset:d@1", "-o", str(report))
    assert "<svg" in report.read_text()


def test_unknown_rights_and_bad_dates_are_one_line(cli):
    cli("talent", "add", "ava")
    _, err = cli("agreement", "add", "ava", "--grants", "teleport", expect=2)
    assert "unknown right" in err
    _, err = cli("rights", "party:ava", "--at", "soon", expect=2)
    assert "is not a date" in err
