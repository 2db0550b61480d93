"""What the network tests need besides the service: the two-namespace test bed, a coturn
TURN server and the real call between two Chromiums driven across them."""
