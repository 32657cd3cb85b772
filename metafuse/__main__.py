"""``python -m metafuse``: the same click CLI as the ``metafuse`` console script."""

from metafuse.cli import main

if __name__ == "__main__":
    main()
