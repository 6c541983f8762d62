"""The storage ports and both adapters, held to one contract."""
