"""fused-ls: the binary is installed to the environment's scripts folder; this package finds it."""

from ._find import find_fused_ls_bin

__all__ = ["find_fused_ls_bin"]
