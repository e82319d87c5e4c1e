from leoflow.cli.main import entry

entry()
