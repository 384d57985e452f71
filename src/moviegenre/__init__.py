"""moviegenre: multi-label movie genre classification from trailer sound and frames."""

__version__ = "0.1.0"
