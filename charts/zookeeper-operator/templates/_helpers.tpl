{{/* Names and labels shared by every template. */}}

{{- define "zookeeper-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's full name; the release name alone when it already names the chart. */}}
{{- define "zookeeper-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "zookeeper-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zookeeper-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "zookeeper-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "zookeeper-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/component: operator
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "zookeeper-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "zookeeper-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "zookeeper-operator.leaseName" -}}
{{- default (include "zookeeper-operator.fullname" .) .Values.leaderElection.leaseName }}
{{- end }}

{{- define "zookeeper-operator.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/*
What the operator does to the objects of the clusters it manages, shared by the ClusterRole
(all namespaces) and the per-namespace Roles (watchNamespaces). Each rule says why.
*/}}
{{- define "zookeeper-operator.rules" -}}
# ZookeeperClusters: the controller's primary resource; list/watch feed its cache.
- apiGroups: ["zookeeper.ensemble.dev"]
  resources: ["zookeeperclusters"]
  verbs: ["get", "list", "watch"]
# Owned objects carry blockOwnerDeletion (foreground deletion waits for them); where the
# OwnerReferencesPermissionEnforcement admission plugin runs (OpenShift), setting it needs
# update on the owner's finalizers. The operator never writes finalizers itself.
- apiGroups: ["zookeeper.ensemble.dev"]
  resources: ["zookeeperclusters/finalizers"]
  verbs: ["update"]
# Status is the only part of a ZookeeperCluster the operator writes (conditions, members).
- apiGroups: ["zookeeper.ensemble.dev"]
  resources: ["zookeeperclusters/status"]
  verbs: ["get", "patch", "update"]
# The StatefulSet running the members: server-side apply (patch/create), watched as an owned
# object, deleted when orphaned.
- apiGroups: ["apps"]
  resources: ["statefulsets"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# Headless and client Services, and the ConfigMap with zoo.cfg and scripts: same lifecycle.
- apiGroups: [""]
  resources: ["services", "configmaps"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# The PodDisruptionBudget keeping voluntary evictions above quorum: same lifecycle.
- apiGroups: ["policy"]
  resources: ["poddisruptionbudgets"]
  verbs: ["get", "list", "watch", "create", "patch", "update", "delete"]
# Members' pods: watched for status and health; deleted to restart a failed member (the
# StatefulSet recreates it). Never created or changed directly.
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch", "delete"]
# Members' volumes: retention policy (owner references patched on, claims deleted after a
# scale-down so a re-added member does not start from stale data).
- apiGroups: [""]
  resources: ["persistentvolumeclaims"]
  verbs: ["get", "list", "watch", "patch", "delete"]
# Notification receivers' credentials (webhook URLs, tokens, SMTP passwords) and each
# cluster's super-user Secret: read one named Secret at a time, never listed or watched;
# the super-user Secret is created once when absent, never updated.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "create"]
# Faults and recoveries recorded as Events on the cluster; patch aggregates repeats.
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}
