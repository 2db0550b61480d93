"""The live channel: this instance's open sockets (the hub), pub/sub wake-ups and the pushes they
become."""
