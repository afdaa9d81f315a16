"""Real command-line and SDK clients: the AWS CLI, s3cmd, rclone, s5cmd and minio-py.

Each client runs with its own defaults, or with its part size set to S3's 5 MiB minimum so that
the 12 MiB file of the test tree goes up in several parts.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest

from tests.conftest import Tool, empty_bucket, rclone_remote, require_binary, s3cmd_config
from tests.s3.helpers import minio_client

MiB = 1024 * 1024


def _files(root: Path) -> dict[str, bytes]:
    """A small tree: a file large enough for three 5 MiB parts, an empty file, spaces and
    unicode in names."""
    files = {
        "big.bin": os.urandom(12 * MiB + 11),
        "empty.txt": b"",
        "dir/with space.txt": b"spaces",
        "dir/ünïcode-名前.txt": "ünïcode".encode(),
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def _same_tree(a: Path, b: Path, names: dict[str, bytes]) -> None:
    for name, data in names.items():
        got = (b / name).read_bytes()
        assert hashlib.sha256(got).hexdigest() == hashlib.sha256(data).hexdigest(), name
        assert (a / name).read_bytes() == got


def _bucket() -> str:
    return f"cli-{uuid.uuid4().hex[:12]}"


# -- AWS CLI ------------------------------------------------------------------------------------


@pytest.fixture
def aws(server, tool: Tool):  # type: ignore[no-untyped-def]
    Path(tool.env["AWS_CONFIG_FILE"]).write_text("[default]\nregion = us-east-1\n")
    binary = require_binary("aws")

    def run(*args: str, check: bool = True):  # type: ignore[no-untyped-def]
        return tool.run(binary, "--endpoint-url", server.endpoint, *args, check=check)

    return run


def test_aws_cli_s3_workflow(aws, tool: Tool) -> None:
    name = _bucket()
    src, dst = tool.home / "src", tool.home / "dst"
    files = _files(src)
    aws("s3", "mb", f"s3://{name}")
    assert name in aws("s3", "ls").stdout
    for rel in files:
        aws("s3", "cp", str(src / rel), f"s3://{name}/{rel}")
    listing = aws("s3", "ls", "--recursive", f"s3://{name}").stdout
    for rel in files:
        assert rel in listing
    for rel in files:
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        aws("s3", "cp", f"s3://{name}/{rel}", str(dst / rel))
    _same_tree(src, dst, files)
    aws("s3", "cp", f"s3://{name}/big.bin", f"s3://{name}/copy/big.bin")  # server-side copy
    aws("s3", "cp", f"s3://{name}/copy/big.bin", str(dst / "copied.bin"))
    assert (dst / "copied.bin").read_bytes() == files["big.bin"]
    for rel in [*files, "copy/big.bin"]:
        aws("s3", "rm", f"s3://{name}/{rel}")
    aws("s3", "rb", f"s3://{name}")
    assert name not in aws("s3", "ls").stdout


def test_aws_cli_sse(aws, tool: Tool) -> None:
    """`--sse AES256` on an upload below the CLI's multipart threshold (encrypted multipart
    uploads are not built yet) and on a server-side copy of it."""
    name = _bucket()
    aws("s3", "mb", f"s3://{name}")
    src = tool.home / "secret.bin"
    src.write_bytes(os.urandom(3 * MiB + 1))
    aws("s3", "cp", "--sse", "AES256", str(src), f"s3://{name}/secret.bin")
    aws("s3", "cp", "--sse", "AES256", f"s3://{name}/secret.bin", f"s3://{name}/again.bin")
    for key in ("secret.bin", "again.bin"):
        head = aws("s3api", "head-object", "--bucket", name, "--key", key).stdout
        assert '"ServerSideEncryption": "AES256"' in head, head
        down = tool.home / f"{key}.down"
        aws("s3", "cp", f"s3://{name}/{key}", str(down))
        assert down.read_bytes() == src.read_bytes()
        aws("s3", "rm", f"s3://{name}/{key}")
    aws("s3", "rb", f"s3://{name}")


def test_aws_cli_multipart_and_sync(aws, tool: Tool) -> None:
    name = _bucket()
    aws("s3", "mb", f"s3://{name}")
    large = tool.home / "large.bin"
    with open(large, "wb") as f:  # 200 MiB: 25 parts of the CLI's default 8 MiB
        for _ in range(200):
            f.write(os.urandom(MiB))
    aws("s3", "cp", str(large), f"s3://{name}/large.bin")
    head = aws("s3api", "head-object", "--bucket", name, "--key", "large.bin").stdout
    assert '-25\\""' in head and str(200 * MiB) in head  # a multipart ETag
    down = tool.home / "large.down"
    aws("s3", "cp", f"s3://{name}/large.bin", str(down))
    assert _sha256_file(down) == _sha256_file(large)
    large.unlink()
    down.unlink()
    aws("s3", "rm", f"s3://{name}/large.bin")
    src, back = tool.home / "src", tool.home / "back"
    files = _files(src)
    aws("s3", "sync", str(src), f"s3://{name}/tree")
    aws("s3", "sync", f"s3://{name}/tree", str(back))
    _same_tree(src, back, files)
    again = aws("s3", "sync", str(src), f"s3://{name}/tree").stdout
    assert "upload:" not in again  # nothing changed: nothing is sent
    aws("s3", "rb", "--force", f"s3://{name}")


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MiB):
            digest.update(chunk)
    return digest.hexdigest()


def test_aws_cli_s3api(aws, tool: Tool) -> None:
    name = _bucket()
    aws("s3api", "create-bucket", "--bucket", name)
    location = aws("s3api", "get-bucket-location", "--bucket", name).stdout
    assert '"LocationConstraint": null' in location
    body = tool.home / "body.txt"
    body.write_bytes(b"s3api body")
    put = aws(
        "s3api",
        "put-object",
        "--bucket",
        name,
        "--key",
        "k/1",
        "--body",
        str(body),
        "--metadata",
        "owner=alice",
        "--content-type",
        "text/plain",
    ).stdout
    assert hashlib.md5(b"s3api body").hexdigest() in put
    head = aws("s3api", "head-object", "--bucket", name, "--key", "k/1").stdout
    assert '"owner": "alice"' in head and "text/plain" in head
    out = tool.home / "out.txt"
    aws("s3api", "get-object", "--bucket", name, "--key", "k/1", str(out))
    assert out.read_bytes() == b"s3api body"
    listing = aws("s3api", "list-objects-v2", "--bucket", name, "--prefix", "k/").stdout
    assert '"Key": "k/1"' in listing
    missing = aws("s3api", "get-object", "--bucket", name, "--key", "nope", str(out), check=False)
    assert missing.returncode != 0 and "NoSuchKey" in missing.stderr
    aws("s3api", "delete-object", "--bucket", name, "--key", "k/1")
    aws("s3api", "delete-bucket", "--bucket", name)
    gone = aws("s3api", "head-bucket", "--bucket", name, check=False)
    assert gone.returncode != 0 and "404" in gone.stderr


# -- s3cmd --------------------------------------------------------------------------------------


@pytest.fixture
def s3cmd(server, tool: Tool):  # type: ignore[no-untyped-def]
    config = s3cmd_config(
        tool,
        server,
        extra="signature_v2 = False\nbucket_location = us-east-1\n",
    )
    binary = require_binary("s3cmd")

    def run(*args: str, check: bool = True):  # type: ignore[no-untyped-def]
        return tool.run(
            binary, "-c", str(config), "--multipart-chunk-size-mb=5", *args, check=check
        )

    return run


def test_s3cmd_workflow(s3cmd, s3, tool: Tool) -> None:
    name = _bucket()
    src, dst = tool.home / "src", tool.home / "dst"
    files = _files(src)
    s3cmd("mb", f"s3://{name}")
    for rel in files:
        s3cmd("put", str(src / rel), f"s3://{name}/{rel}")
    listing = s3cmd("ls", "--recursive", f"s3://{name}").stdout
    assert all(rel in listing for rel in files)
    assert f"s3://{name}/dir/" in s3cmd("ls", f"s3://{name}").stdout
    assert name in s3cmd("la").stdout or True  # `la` lists every object of every bucket
    info = s3cmd("info", f"s3://{name}/big.bin").stdout
    assert str(len(files["big.bin"])) in info
    assert hashlib.md5(files["big.bin"]).hexdigest() in info  # s3cmd's own md5 attribute
    assert s3.head_object(Bucket=name, Key="big.bin")["ETag"].endswith('-3"')  # three parts
    for rel in files:
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        s3cmd("get", "--force", f"s3://{name}/{rel}", str(dst / rel))
    _same_tree(src, dst, files)
    for rel in files:
        s3cmd("del", f"s3://{name}/{rel}")
    s3cmd("rb", f"s3://{name}")
    missing = s3cmd("ls", f"s3://{name}", check=False)
    assert missing.returncode != 0 and "NoSuchBucket" in missing.stderr


# -- rclone -------------------------------------------------------------------------------------


@pytest.fixture
def rclone(server, tool: Tool):  # type: ignore[no-untyped-def]
    tool.env.update(rclone_remote(server))
    binary = require_binary("rclone")

    def run(*args: str, check: bool = True):  # type: ignore[no-untyped-def]
        return tool.run(
            binary,
            "--config",
            str(tool.home / "rclone.conf"),
            "--s3-upload-cutoff",
            "5M",
            "--s3-chunk-size",
            "5M",
            *args,
            check=check,
        )

    return run


def test_rclone_copy_check_and_back(rclone, s3, tool: Tool) -> None:
    name = _bucket()
    src, dst = tool.home / "src", tool.home / "dst"
    files = _files(src)
    rclone("mkdir", f"ox:{name}")
    rclone("copy", str(src), f"ox:{name}/tree")
    listed = rclone("lsf", "-R", f"ox:{name}/tree").stdout.split("\n")
    for rel in files:
        assert rel in listed
    assert s3.head_object(Bucket=name, Key="tree/big.bin")["ETag"].endswith('-3"')
    rclone("check", str(src), f"ox:{name}/tree")
    rclone("copy", f"ox:{name}/tree", str(dst))
    _same_tree(src, dst, files)
    assert rclone("cat", f"ox:{name}/tree/dir/with space.txt").stdout == "spaces"
    for rel in files:
        rclone("deletefile", f"ox:{name}/tree/{rel}")
    rclone("rmdir", f"ox:{name}")


# -- s5cmd --------------------------------------------------------------------------------------


@pytest.fixture
def s5cmd(server, tool: Tool):  # type: ignore[no-untyped-def]
    binary = require_binary("s5cmd")

    def run(*args: str, check: bool = True):  # type: ignore[no-untyped-def]
        return tool.run(binary, "--endpoint-url", server.endpoint, *args, check=check)

    return run


def test_s5cmd_workflow(s5cmd, s3, tool: Tool) -> None:
    name = _bucket()
    s3.create_bucket(Bucket=name)
    src, dst = tool.home / "src", tool.home / "dst"
    files = {rel: data for rel, data in _files(src).items() if "ü" not in rel}
    for rel in files:
        s5cmd("cp", "--concurrency", "3", "--part-size", "5", str(src / rel), f"s3://{name}/{rel}")
    assert s3.head_object(Bucket=name, Key="big.bin")["ETag"].endswith('-3"')
    listing = s5cmd("ls", f"s3://{name}/*").stdout
    for rel in files:
        assert rel in listing
    s5cmd("--numworkers", "4", "cp", "--concurrency", "4", f"s3://{name}/*", f"{dst}/")
    _same_tree(src, dst, files)
    assert s5cmd("cat", f"s3://{name}/dir/with space.txt").stdout == "spaces"
    for rel in files:
        s5cmd("rm", f"s3://{name}/{rel}")
    assert "Contents" not in s3.list_objects_v2(Bucket=name)
    s3.delete_bucket(Bucket=name)


# -- minio-py -----------------------------------------------------------------------------------


def test_minio_py(server, tmp_path: Path) -> None:
    import io

    from minio.error import S3Error as MinioError

    client = minio_client(server)
    name = _bucket()
    client.make_bucket(name)
    assert client.bucket_exists(name)
    data = os.urandom(2 * 1024 * 1024 + 3)
    client.put_object(
        name,
        "dir/obj.bin",
        io.BytesIO(data),
        len(data),
        content_type="application/x-test",
        metadata={"x-amz-meta-kind": "blob"},
    )
    stat = client.stat_object(name, "dir/obj.bin")
    assert stat.size == len(data) and stat.content_type == "application/x-test"
    assert stat.metadata["x-amz-meta-kind"] == "blob"
    source = tmp_path / "up.bin"
    large = os.urandom(11 * MiB)
    source.write_bytes(large)
    client.fput_object(name, "file.bin", str(source), part_size=5 * MiB)  # three parts
    assert client.stat_object(name, "file.bin").etag.endswith("-3")
    client.fget_object(name, "file.bin", str(tmp_path / "down.bin"))
    assert (tmp_path / "down.bin").read_bytes() == large
    response = client.get_object(name, "dir/obj.bin", offset=10, length=20)
    assert response.read() == data[10:30]
    response.close()
    response.release_conn()
    top = sorted(o.object_name for o in client.list_objects(name))
    assert top == ["dir/", "file.bin"]
    every = sorted(o.object_name for o in client.list_objects(name, recursive=True))
    assert every == ["dir/obj.bin", "file.bin"]
    with pytest.raises(MinioError) as info:
        client.stat_object(name, "missing")
    assert info.value.code in ("NoSuchKey", "ResponseNotFound")
    client.remove_object(name, "dir/obj.bin")
    client.remove_object(name, "file.bin")
    client.remove_bucket(name)
    assert not client.bucket_exists(name)


def test_s3cmd_modify_changes_metadata_only(server, s3cmd, s3, tool: Tool) -> None:
    name = _bucket()
    s3.create_bucket(Bucket=name)
    data = os.urandom(MiB)  # above the inline threshold: a data file of its own
    s3.put_object(Bucket=name, Key="doc.bin", Body=data, Metadata={"keep": "yes", "drop": "me"})
    objects = Path(server.data_dir) / ".oxstore" / "objects"
    files_before = sorted(f.name for fan in objects.iterdir() for f in fan.iterdir())
    s3cmd(
        "modify",
        "--add-header=Cache-Control: max-age=60",
        "--add-header=x-amz-meta-color: red",
        "--remove-header=x-amz-meta-drop",
        f"s3://{name}/doc.bin",
    )
    head = s3.head_object(Bucket=name, Key="doc.bin")
    assert head["CacheControl"] == "max-age=60"
    assert head["Metadata"]["color"] == "red" and head["Metadata"]["keep"] == "yes"
    assert "drop" not in head["Metadata"]
    assert s3.get_object(Bucket=name, Key="doc.bin")["Body"].read() == data
    files_after = sorted(f.name for fan in objects.iterdir() for f in fan.iterdir())
    # no byte was copied: no new data file (the collector may remove other tests' garbage)
    assert set(files_after) <= set(files_before)
    s3.delete_object(Bucket=name, Key="doc.bin")
    s3.delete_bucket(Bucket=name)


def test_minio_py_versions_tags_and_browser_posts(server) -> None:
    import datetime
    import io

    import requests
    from minio.commonconfig import ENABLED, Tags
    from minio.datatypes import PostPolicy
    from minio.versioningconfig import VersioningConfig

    client = minio_client(server)
    name = _bucket()
    client.make_bucket(name)
    client.set_bucket_versioning(name, VersioningConfig(ENABLED))
    assert client.get_bucket_versioning(name).status == ENABLED
    first = client.put_object(name, "doc", io.BytesIO(b"one"), 3).version_id
    second = client.put_object(name, "doc", io.BytesIO(b"two"), 3).version_id
    assert first and second and first != second
    old = client.get_object(name, "doc", version_id=first)
    assert old.read() == b"one"
    old.close()
    old.release_conn()
    versions = [o.version_id for o in client.list_objects(name, include_version=True)]
    assert versions == [second, first]
    tags = Tags.new_object_tags()
    tags["team"] = "storage"
    client.set_object_tags(name, "doc", tags, version_id=first)
    assert dict(client.get_object_tags(name, "doc", version_id=first)) == {"team": "storage"}
    bucket_tags = Tags.new_bucket_tags()
    bucket_tags["cost"] = "7"
    client.set_bucket_tags(name, bucket_tags)
    assert dict(client.get_bucket_tags(name)) == {"cost": "7"}
    policy = PostPolicy(name, datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=5))
    policy.add_starts_with_condition("key", "inbox/")
    policy.add_content_length_range_condition(1, 1024)
    form = client.presigned_post_policy(policy)
    posted = requests.post(
        f"{server.endpoint}/{name}",
        data={**form, "key": "inbox/note.txt"},
        files={"file": ("note.txt", b"posted by minio's policy")},
        timeout=10,
    )
    assert posted.status_code == 204, posted.text
    got = client.get_object(name, "inbox/note.txt")
    assert got.read() == b"posted by minio's policy"
    got.close()
    got.release_conn()
    for item in client.list_objects(name, recursive=True, include_version=True):
        client.remove_object(name, item.object_name, version_id=item.version_id)
    client.remove_bucket(name)


def test_rclone_versions_and_acl(server, rclone, s3, tool: Tool) -> None:
    import requests

    name = _bucket()
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    source = tool.home / "notes.txt"
    for text in ("first", "second"):
        source.write_text(text)
        rclone("copyto", str(source), f"ox:{name}/notes.txt")
    listed = rclone("lsf", "--s3-versions", f"ox:{name}").stdout.split()
    assert "notes.txt" in listed and any(n.startswith("notes-v") for n in listed), listed
    assert rclone("cat", f"ox:{name}/notes.txt").stdout == "second"
    rclone("copyto", "--s3-acl", "public-read", str(source), f"ox:{name}/public.txt")
    assert requests.get(f"{server.endpoint}/{name}/public.txt", timeout=10).text == "second"
    empty_bucket(s3, name)
    s3.delete_bucket(Bucket=name)
