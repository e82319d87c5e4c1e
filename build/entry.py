"""Entry point of the single executable."""

from leoflow.cli.main import entry

if __name__ == "__main__":
    entry()
