"""The one base class of every failure the migrator reports and exits non-zero on."""


class MigratorError(RuntimeError):
    """A failure with a message fit for an operator: what went wrong and which setting
    or session is involved; never a password."""
