"""Local fakes of the clouds and services vcpsdk talks to, each serving on 127.0.0.1."""
