"""`python -m fused_ls ARGS` runs the installed `fused-ls` binary with ARGS."""

import os
import sys

from ._find import find_fused_ls_bin


def main() -> None:
    exe = os.fsdecode(find_fused_ls_bin())
    if sys.platform == "win32":
        import subprocess

        sys.exit(subprocess.run([exe, *sys.argv[1:]]).returncode)
    # Replace this process: signals, the exit code and stdio (an LSP session) go straight through.
    os.execv(exe, [exe, *sys.argv[1:]])


if __name__ == "__main__":
    main()
