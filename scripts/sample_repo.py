"""Turn config-repo/ into a bare git repository under DATA_DIR (once), for `make run`.

The server serves from that repository, so a user changes configuration the real way:
git clone DATA_DIR/config-repo.git; edit; git commit; git push.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git(*args: str, cwd: Path) -> None:
    env_args = [
        "-c",
        "user.name=config-server",
        "-c",
        "user.email=config-server@localhost",
        "-c",
        "init.defaultBranch=main",
    ]
    subprocess.run(["git", *env_args, *args], cwd=cwd, check=True, capture_output=True)


def main() -> int:
    data = Path(sys.argv[1] if len(sys.argv) > 1 else ".data").resolve()
    bare = data / "config-repo.git"
    if (bare / "HEAD").exists():
        print(f"Using existing repository {bare}")
        return 0
    data.mkdir(parents=True, exist_ok=True)
    git("init", "-q", "--bare", str(bare), cwd=data)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "work"
        shutil.copytree(ROOT / "config-repo", work)
        git("init", "-q", cwd=work)
        git("add", "-A", cwd=work)
        git("commit", "-q", "-m", "Sample configuration", cwd=work)
        git("push", "-q", str(bare), "HEAD:refs/heads/main", cwd=work)
    print(f"Created {bare} from config-repo/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
