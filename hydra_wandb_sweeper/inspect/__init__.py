"""Reading sweeps back after (or while) they run: one neutral table of trials per sweep,
from the local engine's storage or from a W&B server, for the command-line tool and reports."""
