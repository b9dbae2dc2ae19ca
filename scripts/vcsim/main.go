// Command vcsim serves govmomi's vCenter simulator on a loopback address for vcpsdk's
// vSphere tests and its rehearsal mode (vcc fake-cloud vmware).
//
// It creates one datacenter (DC0) with one cluster (DC0_C0) of -hosts hosts, a child
// resource pool DC0_C0_RP1, the networks "VM Network" and DC0_DVPG0, a datastore LocalDS_0
// and one powered-off VM named -template (nothing else), then prints one JSON line
// {"url": ..., "host": ..., "port": ..., "cert": ...} and serves until SIGTERM or SIGINT.
// The password is read from $VCSIM_PASSWORD so that it never shows in a process list.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path"
	"sync"
	"syscall"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/find"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "loopback host:port to serve on")
	user := flag.String("username", "vcp", "the user name (password: $VCSIM_PASSWORD)")
	template := flag.String("template", "vcp-template", "name of the template VM ('' for none)")
	hosts := flag.Int("hosts", 1, "hosts of the cluster")
	certOut := flag.String("cert", "", "write the server's PEM certificate to this file")
	flag.Parse()
	if ip := net.ParseIP(hostOf(*listen)); ip == nil || !ip.IsLoopback() {
		log.Fatalf("vcsim: -listen %s is not a loopback address", *listen)
	}

	model := simulator.VPX()
	model.Host, model.ClusterHost, model.Pool, model.Machine = 0, *hosts, 1, 0
	if err := model.Create(); err != nil {
		log.Fatal(err)
	}
	model.Service.Listen = &url.URL{Host: *listen, User: url.UserPassword(*user, os.Getenv("VCSIM_PASSWORD"))}
	certificate, err := selfSigned(hostOf(*listen))
	if err != nil {
		log.Fatal(err)
	}
	model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{certificate}}
	server := model.Service.NewServer()
	server.Config.Handler = oneAtATime(server.Config.Handler) // before any client connects
	stop := func() { server.Close(); model.Remove() }

	if *template != "" {
		if err := createTemplate(server.URL, *template); err != nil {
			stop()
			log.Fatalf("vcsim: creating the template VM: %v", err)
		}
	}
	if *certOut != "" {
		block := &pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw}
		if err := os.WriteFile(*certOut, pem.EncodeToMemory(block), 0o644); err != nil {
			stop()
			log.Fatal(err)
		}
	}
	public := url.URL{Scheme: server.URL.Scheme, Host: server.URL.Host, Path: server.URL.Path}
	line, _ := json.Marshal(map[string]string{
		"url": public.String(), "host": server.URL.Hostname(), "port": server.URL.Port(), "cert": *certOut,
	})
	os.Stdout.Write(append(line, '\n'))

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
	stop()
}

// selfSigned makes a P-256 certificate for ip, its own CA (httptest's default key is
// RSA 1024, which OpenSSL refuses to verify).
func selfSigned(ip string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	template := x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "vcsim " + ip},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(7 * 24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP(ip)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// oneAtATime serves the SOAP requests one at a time: vcsim 0.24 shares the template's
// device objects with its clones and edits them while cloning, so a clone racing with
// another clone or a reconfigure fails (FileNotFound).  Its tasks finish within the request,
// so this costs little; a real vCenter serves them concurrently.
func oneAtATime(next http.Handler) http.Handler {
	var serving sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		serving.Lock()
		defer serving.Unlock()
		next.ServeHTTP(w, r)
	})
}

func hostOf(hostport string) string {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport
	}
	return host
}

// createTemplate creates a powered-off VM of 1 vCPU, 1 GB, one 1 GB disk and one NIC
// on "VM Network" in the cluster's root pool, through the simulator's own SOAP API.
func createTemplate(u *url.URL, name string) error {
	ctx := context.Background()
	client, err := govmomi.NewClient(ctx, u, true)
	if err != nil {
		return err
	}
	defer client.Logout(ctx)
	finder := find.NewFinder(client.Client, true)
	dc, err := finder.DefaultDatacenter(ctx)
	if err != nil {
		return err
	}
	finder.SetDatacenter(dc)
	folders, err := dc.Folders(ctx)
	if err != nil {
		return err
	}
	pool, err := finder.ResourcePool(ctx, "DC0_C0/Resources")
	if err != nil {
		return err
	}
	network, err := finder.Network(ctx, "VM Network")
	if err != nil {
		return err
	}
	var devices object.VirtualDeviceList
	scsi, _ := devices.CreateSCSIController("pvscsi")
	devices = append(devices, scsi)
	disk := devices.CreateDisk(scsi.(types.BaseVirtualController), types.ManagedObjectReference{},
		"[LocalDS_0] "+path.Join(name, "disk1.vmdk"))
	disk.CapacityInKB = 1024 * 1024
	backing, err := network.EthernetCardBackingInfo(ctx)
	if err != nil {
		return err
	}
	nic, err := devices.CreateEthernetCard("vmxnet3", backing)
	if err != nil {
		return err
	}
	devices = append(devices, disk, nic)
	changes, err := devices.ConfigSpec(types.VirtualDeviceConfigSpecOperationAdd)
	if err != nil {
		return err
	}
	spec := types.VirtualMachineConfigSpec{
		Name: name, GuestId: string(types.VirtualMachineGuestOsIdentifierOtherLinux64Guest),
		NumCPUs: 1, MemoryMB: 1024, Files: &types.VirtualMachineFileInfo{VmPathName: "[LocalDS_0]"},
		DeviceChange: changes,
	}
	task, err := folders.VmFolder.CreateVM(ctx, spec, pool, nil)
	if err != nil {
		return err
	}
	return task.Wait(ctx)
}
