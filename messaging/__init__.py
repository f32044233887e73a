"""MQTT plumbing shared by the cloud processes: broker address, subscriber, publisher."""
