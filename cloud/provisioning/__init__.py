"""Gateway provisioning: identities, broker credentials and ACLs, ready gateway.yaml files."""
