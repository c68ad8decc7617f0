"""The jobs domain: the job table, and the routes that show a job to its owner."""
