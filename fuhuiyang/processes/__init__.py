"""One composition root per process: read the settings, build the resources, hand them down."""
