// A standalone Kubernetes 1.36 apiextensions-apiserver for the operator's tests: the real
// CRD server (structural schemas, CEL compilation and cost budget, defaulting, pruning,
// server-side apply, the status subresource) without a core kube-apiserver beside it.
//
// The stock main.go of k8s.io/apiextensions-apiserver cannot run alone: it delegates
// authentication and authorization to a core apiserver, keeps a Services informer that
// never syncs (so /readyz fails), leaves /apis discovery to the aggregator and configures
// no /openapi/v2 (kubectl's validation needs it). This file builds the same server with
// those four things changed:
//   - clients authenticate with certificates signed by --client-ca-file, and only the
//     group system:masters is authorized (no delegation);
//   - no core informers, no admission plugins, no priority and fairness;
//   - /apis lists apiextensions.k8s.io and every CRD's group (plain and aggregated form);
//   - OpenAPI v2 and v3 are served, with every CRD's schema.
//
// Built by testkit/scripts/build-modern-apiserver.sh in GOPATH mode against Debian's
// golang-k8s-apiextensions-apiserver-dev.
package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"sort"

	"github.com/spf13/pflag"
	noopoteltrace "go.opentelemetry.io/otel/trace/noop"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver"
	"k8s.io/apiextensions-apiserver/pkg/cmd/server/options"
	generatedopenapi "k8s.io/apiextensions-apiserver/pkg/generated/openapi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/util/openapi"
	"k8s.io/apiserver/pkg/util/webhook"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"
	netutils "k8s.io/utils/net"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "apiextensions-apiserver:", err)
		os.Exit(1)
	}
}

func run() error {
	o := options.NewCustomResourceDefinitionsServerOptions(os.Stdout, os.Stderr)
	// Nothing to delegate to: certificates from --client-ca-file authenticate, and
	// system:masters (the default always-allowed group) is the only authorized group.
	o.RecommendedOptions.Authentication.RemoteKubeConfigFileOptional = true
	o.RecommendedOptions.Authorization.RemoteKubeConfigFileOptional = true
	// These need a core apiserver (namespaces, webhooks, flow-control objects).
	o.RecommendedOptions.CoreAPI = nil
	o.RecommendedOptions.Admission = nil
	o.RecommendedOptions.Features.EnablePriorityAndFairness = false

	fs := pflag.NewFlagSet("apiextensions-apiserver", pflag.ExitOnError)
	o.AddFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if err := o.ServerRunOptions.ComponentGlobalsRegistry.Set(); err != nil {
		return err
	}
	if err := o.Complete(); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return err
	}
	config, err := serverConfig(o)
	if err != nil {
		return err
	}
	completed := config.Complete()
	// The upstream server leaves /apis to the aggregator; here it is the only server.
	completed.GenericConfig.EnableDiscovery = true
	server, err := completed.New(genericapiserver.NewEmptyDelegate())
	if err != nil {
		return err
	}
	if err := listGroupsInDiscovery(server); err != nil {
		return err
	}
	ctx := genericapiserver.SetupSignalContext()
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}

// serverConfig is options.Config without the Services informer (webhook conversion is
// not used by these tests) and with OpenAPI v2 configured.
func serverConfig(o *options.CustomResourceDefinitionsServerOptions) (*apiserver.Config, error) {
	if err := o.RecommendedOptions.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return nil, fmt.Errorf("error creating self-signed certificates: %v", err)
	}
	serverConfig := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	if err := o.ServerRunOptions.ApplyTo(&serverConfig.Config); err != nil {
		return nil, err
	}
	if err := o.RecommendedOptions.ApplyTo(serverConfig); err != nil {
		return nil, err
	}
	if err := o.APIEnablement.ApplyTo(&serverConfig.Config, apiserver.DefaultAPIResourceConfigSource(), apiserver.Scheme); err != nil {
		return nil, err
	}
	definitions := openapi.GetOpenAPIDefinitionsWithoutDisabledFeatures(generatedopenapi.GetOpenAPIDefinitions)
	namer := openapinamer.NewDefinitionNamer(apiserver.Scheme, scheme.Scheme)
	serverConfig.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(definitions, namer)
	serverConfig.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(definitions, namer)
	return &apiserver.Config{
		GenericConfig: serverConfig,
		ExtraConfig: apiserver.ExtraConfig{
			CRDRESTOptionsGetter: options.NewCRDRESTOptionsGetter(*o.RecommendedOptions.Etcd, serverConfig.ResourceTransformers, serverConfig.StorageObjectCountTracker),
			ServiceResolver:      noServices{},
			AuthResolverWrapper:  webhook.NewDefaultAuthenticationInfoResolverWrapper(nil, nil, serverConfig.LoopbackClientConfig, noopoteltrace.NewTracerProvider()),
		},
	}, nil
}

type noServices struct{}

func (noServices) ResolveEndpoint(namespace, name string, port int32) (*url.URL, error) {
	return nil, fmt.Errorf("no Services here: cannot reach %s/%s:%d", namespace, name, port)
}

// listGroupsInDiscovery keeps the plain /apis group list in step with the CRDs (the
// server's own discovery controller already feeds the aggregated form).
func listGroupsInDiscovery(server *apiserver.CustomResourceDefinitions) error {
	informer := server.Informers.Apiextensions().V1().CustomResourceDefinitions()
	groups := server.GenericAPIServer.DiscoveryGroupManager
	sync := func(obj interface{}) {
		crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
		if !ok {
			if tombstone, isTombstone := obj.(cache.DeletedFinalStateUnknown); isTombstone {
				crd, ok = tombstone.Obj.(*apiextensionsv1.CustomResourceDefinition)
			}
			if !ok {
				return
			}
		}
		all, err := informer.Lister().List(labels.Everything())
		if err != nil {
			return
		}
		if group, found := groupOf(crd.Spec.Group, all); found {
			groups.AddGroup(group)
		} else {
			groups.RemoveGroup(crd.Spec.Group)
		}
	}
	_, err := informer.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    sync,
		UpdateFunc: func(_, obj interface{}) { sync(obj) },
		DeleteFunc: sync,
	})
	return err
}

// groupOf is the discovery entry of one API group: every served version of its CRDs, the
// storage version preferred.
func groupOf(name string, crds []*apiextensionsv1.CustomResourceDefinition) (metav1.APIGroup, bool) {
	served := map[string]bool{}
	preferred := ""
	for _, crd := range crds {
		if crd.Spec.Group != name {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			served[v.Name] = true
			if v.Storage {
				preferred = v.Name
			}
		}
	}
	if len(served) == 0 {
		return metav1.APIGroup{}, false
	}
	names := make([]string, 0, len(served))
	for v := range served {
		names = append(names, v)
	}
	sort.Strings(names)
	if !served[preferred] {
		preferred = names[0]
	}
	group := metav1.APIGroup{Name: name}
	for _, v := range names {
		group.Versions = append(group.Versions, metav1.GroupVersionForDiscovery{GroupVersion: name + "/" + v, Version: v})
	}
	group.PreferredVersion = metav1.GroupVersionForDiscovery{GroupVersion: name + "/" + preferred, Version: preferred}
	return group, true
}
