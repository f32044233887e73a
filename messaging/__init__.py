"""MQTT plumbing shared by the cloud's processes: broker addresses, the shared-subscription
subscriber with manual acknowledgement, the retained-config publisher.

Imports paho-mqtt and nothing of ours above `protocol`, so the edge could use it too.
"""
