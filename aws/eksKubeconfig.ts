/**
 * The kubeconfig the Kubernetes provider uses for an EKS cluster: endpoint and CA from the cluster,
 * credentials from `aws eks get-token` on each call. No token is stored, so the text holds nothing
 * that expires (a static token lasts 15 minutes, shorter than a long `pulumi up`).
 */

export interface EksKubeconfigArgs {
  readonly clusterName: string;
  /** The API server's URL, `https://…eks.amazonaws.com`. */
  readonly endpoint: string;
  /** The cluster CA, base64 PEM, as EKS returns it in `certificateAuthority.data`. */
  readonly certificateAuthorityData: string;
  readonly region: string;
  /** An AWS CLI profile for the token; the ambient credentials when absent. */
  readonly profile?: string;
}

/** A kubeconfig as JSON text (YAML parsers read it too), with one cluster, user and context. */
export function eksKubeconfig(a: EksKubeconfigArgs): string {
  const name = a.clusterName;
  return JSON.stringify(
    {
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name, cluster: { server: a.endpoint, "certificate-authority-data": a.certificateAuthorityData } }],
      contexts: [{ name, context: { cluster: name, user: name } }],
      "current-context": name,
      users: [
        {
          name,
          user: {
            exec: {
              apiVersion: "client.authentication.k8s.io/v1beta1",
              command: "aws",
              // --region: the token is signed for the cluster's region, whatever the ambient default is.
              args: ["eks", "get-token", "--cluster-name", name, "--region", a.region, "--output", "json"],
              env: a.profile ? [{ name: "AWS_PROFILE", value: a.profile }] : null,
              interactiveMode: "Never",
            },
          },
        },
      ],
    },
    null,
    2,
  );
}
