{{/* Names: RELEASE-leoflow, or RELEASE when the release is already called leoflow-something. */}}
{{- define "leoflow.fullname" -}}
{{- if contains "leoflow" .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-leoflow" .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "leoflow.labels" -}}
app.kubernetes.io/name: leoflow
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "leoflow.selectorLabels" -}}
app.kubernetes.io/name: leoflow
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "leoflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{- define "leoflow.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "leoflow.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "leoflow.taskNamespace" -}}
{{- .Values.kubernetes.namespace | default .Release.Namespace -}}
{{- end -}}

{{/* The task pods' ServiceAccount; empty: the task namespace's default (no serviceAccountName set). */}}
{{- define "leoflow.taskServiceAccountName" -}}
{{- $sa := .Values.kubernetes.taskServiceAccount | default dict -}}
{{- if $sa.create -}}
{{- $sa.name | default (printf "%s-task" (include "leoflow.fullname" .)) -}}
{{- else -}}
{{- $sa.name | default "" -}}
{{- end -}}
{{- end -}}

{{- define "leoflow.serviceURL" -}}
{{- printf "http://%s.%s.svc:%d" (include "leoflow.fullname" .) .Release.Namespace (int .Values.service.port) -}}
{{- end -}}

{{- define "leoflow.usesKubernetes" -}}
{{- if has "kubernetes" (splitList "," (.Values.executor | nospace)) -}}true{{- end -}}
{{- end -}}

{{/* The chart's own Secret of the values given inline (and generated keys). */}}
{{- define "leoflow.configSecret" -}}{{ include "leoflow.fullname" . }}-config{{- end -}}
{{- define "leoflow.migrateSecret" -}}{{ include "leoflow.fullname" . }}-migrate{{- end -}}
{{- define "leoflow.adminSecret" -}}{{ include "leoflow.fullname" . }}-admin{{- end -}}

{{/* One env entry from a Secret: the user's existingSecret when given, else the chart's. */}}
{{- define "leoflow.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .existing | default .chartSecret }}
      key: {{ if .existing }}{{ .existingKey }}{{ else }}{{ .chartKey }}{{ end }}
{{- end -}}

{{/* Each value the server refuses to start without: given inline or as an existing Secret. */}}
{{- define "leoflow.requireSettings" -}}
{{- $missing := list -}}
{{- if not (or .Values.database.url .Values.database.existingSecret) -}}{{- $missing = append $missing "database.url (or database.existingSecret)" -}}{{- end -}}
{{- if not (or .Values.fernetKey .Values.fernetKeyExistingSecret) -}}{{- $missing = append $missing "fernetKey (or fernetKeyExistingSecret)" -}}{{- end -}}
{{- if not (or .Values.secretKey .Values.secretKeyExistingSecret) -}}{{- $missing = append $missing "secretKey (or secretKeyExistingSecret)" -}}{{- end -}}
{{- if $missing -}}
{{- fail (printf "leoflow: set %s; see the chart's values.yaml" (join ", " $missing)) -}}
{{- end -}}
{{- end -}}

{{/* What the server and the migrate job read from the environment (LEOFLOW_*). */}}
{{- define "leoflow.databaseEnv" -}}
{{ include "leoflow.secretEnv" (dict "name" "LEOFLOW_DATABASE_URL" "existing" .Values.database.existingSecret "existingKey" .Values.database.existingSecretKey "chartSecret" (include "leoflow.configSecret" .) "chartKey" "database-url") }}
{{- end -}}

{{/* The migrate hook's: an inline database URL from the hook's own Secret (the release's does not exist yet). */}}
{{- define "leoflow.migrateDatabaseEnv" -}}
{{ include "leoflow.secretEnv" (dict "name" "LEOFLOW_DATABASE_URL" "existing" .Values.database.existingSecret "existingKey" .Values.database.existingSecretKey "chartSecret" (include "leoflow.migrateSecret" .) "chartKey" "database-url") }}
{{- end -}}

{{- define "leoflow.serverEnv" -}}
{{ include "leoflow.databaseEnv" . }}
{{ include "leoflow.secretEnv" (dict "name" "LEOFLOW_FERNET_KEY" "existing" .Values.fernetKeyExistingSecret "existingKey" .Values.fernetKeyExistingSecretKey "chartSecret" (include "leoflow.configSecret" .) "chartKey" "fernet-key") }}
{{ include "leoflow.secretEnv" (dict "name" "LEOFLOW_SECRET_KEY" "existing" .Values.secretKeyExistingSecret "existingKey" .Values.secretKeyExistingSecretKey "chartSecret" (include "leoflow.configSecret" .) "chartKey" "secret-key") }}
{{ include "leoflow.secretEnv" (dict "name" "LEOFLOW_ADMIN_PASSWORD" "existing" .Values.adminPasswordExistingSecret "existingKey" .Values.adminPasswordExistingSecretKey "chartSecret" (include "leoflow.adminSecret" .) "chartKey" "password") }}
{{- if or .Values.redis.url .Values.redis.existingSecret }}
{{ include "leoflow.secretEnv" (dict "name" "LEOFLOW_REDIS_URL" "existing" .Values.redis.existingSecret "existingKey" .Values.redis.existingSecretKey "chartSecret" (include "leoflow.configSecret" .) "chartKey" "redis-url") }}
{{- end }}
{{- end -}}
