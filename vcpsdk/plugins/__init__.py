"""Import paths of the original SDK: ``vcpsdk.plugins.<provider>.VcpSpecResource<Provider>``."""
