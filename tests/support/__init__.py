"""Code the tests share beyond conftest.py: the network test bed, coturn and the call across
it, forms, alarms, sockets and guests as the tests drive them, and the checkout's own files."""
