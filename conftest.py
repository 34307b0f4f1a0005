"""Root conftest: load rtsent's pytest plugin (options, fixtures, machine info) for bench/ and tests/."""

pytest_plugins = ("rtsent.plugin.hooks",)
