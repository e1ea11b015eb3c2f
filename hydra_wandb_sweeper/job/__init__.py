"""The job's side of a trial: W&B's binding in the job's environment, reporting the metric
to the engine, and the Lightning callback that ends a stopped trial gracefully."""
