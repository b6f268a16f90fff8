"""photodedup: find duplicate photos and clean them up without ever losing one."""

__version__ = "0.1.0"
__all__ = ["__version__"]
