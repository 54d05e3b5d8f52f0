"""Built-in task models and metrics. Importing this package registers them all."""
