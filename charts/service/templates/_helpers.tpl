{{/* Common metadata: name, namespace and the full label set computed by Stagecraft. */}}
{{- define "service.metadata" -}}
name: {{ .Values.name }}
namespace: {{ .Release.Namespace }}
labels:
{{ toYaml .Values.labels | indent 2 }}
{{- end -}}
