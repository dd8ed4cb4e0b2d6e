import os
import sys
import sysconfig


def find_fused_ls_bin() -> str:
    """The path of the `fused-ls` binary this package installed.

    Looks where pip, uv and pipx put scripts: the environment's scripts folder, then the
    user scheme's (``pip install --user``).
    """
    exe = "fused-ls" + (sysconfig.get_config_var("EXE") or "")
    path = os.path.join(sysconfig.get_path("scripts"), exe)
    if os.path.isfile(path):
        return path
    if sys.version_info >= (3, 10):
        user_scheme = sysconfig.get_preferred_scheme("user")
    elif os.name == "nt":
        user_scheme = "nt_user"
    elif sys.platform == "darwin" and getattr(sys, "_framework", None):
        user_scheme = "osx_framework_user"
    else:
        user_scheme = "posix_user"
    user_path = os.path.join(sysconfig.get_path("scripts", scheme=user_scheme), exe)
    if os.path.isfile(user_path):
        return user_path
    raise FileNotFoundError(
        f"the fused-ls binary was not found at {path} or {user_path}; reinstall the package "
        "(`pip install --force-reinstall fused-ls`)"
    )
