"""Local fakes of the cloud APIs vcpsdk talks to, served on 127.0.0.1 only.

* :mod:`vcpsdk.testing.fakes.mdx`: the mdx REST API (:class:`~vcpsdk.testing.fakes.mdx.FakeMdx`,
  ``running_fake_mdx()``);
* :mod:`vcpsdk.testing.fakes.chameleon`: Chameleon's Keystone, Blazar and Neutron
  (:class:`~vcpsdk.testing.fakes.chameleon.FakeChameleon`, ``running_fake_chameleon()``);
* :mod:`vcpsdk.testing.fakes.aws`: EC2 on moto in server mode (``moto_endpoint()``), for the
  AWS backend (needs the ``test`` extra);
* :mod:`vcpsdk.testing.fakes.azure`: Azure Resource Manager and the Entra ID token flow over
  HTTPS (:class:`~vcpsdk.testing.fakes.azure.FakeArm`, ``running_fake_arm()``), for the real
  Azure SDK;
* :mod:`vcpsdk.testing.fakes.oracle`: OCI's Core API 20160918 with request signatures checked
  (:class:`~vcpsdk.testing.fakes.oracle.FakeOci`, ``running_fake_oci()``), for the real ``oci`` SDK;
* :mod:`vcpsdk.testing.fakes.sakura`: the Sakura Cloud IaaS API 1.1
  (:class:`~vcpsdk.testing.fakes.sakura.FakeSakura`, ``running_fake_sakura()``), for the Sakura
  backend's own ``requests`` client.

Each runner serves its fake in a background thread on a free port for a ``with`` block;
``python -m vcpsdk.testing.fakes.<name> --port N`` serves one by hand.

Example::

    from vcpsdk.extensions.mdx import MdxResourceExt
    from vcpsdk.testing.fakes.mdx import FakeMdx, running_fake_mdx

    with running_fake_mdx(FakeMdx(deploy_polls=0)) as server:
        mdx = MdxResourceExt(server.fake.issue_token("alice"), endpoint=server.endpoint)
        print(mdx.get_assigned_projects())
"""
