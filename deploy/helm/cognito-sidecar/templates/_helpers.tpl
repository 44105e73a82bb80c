{{/* Names and labels (the `helm create` conventions). */}}
{{- define "cognito-sidecar.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "cognito-sidecar.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains (include "cognito-sidecar.name" .) .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name (include "cognito-sidecar.name" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "cognito-sidecar.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cognito-sidecar.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "cognito-sidecar.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "cognito-sidecar.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* The Secret holding the client and session secrets. */}}
{{- define "cognito-sidecar.secretName" -}}
{{- if .Values.secrets.create -}}
{{- include "cognito-sidecar.fullname" . -}}
{{- else -}}
{{- required "secrets.existingSecret: name the Secret with the client and session secrets, or set secrets.create" .Values.secrets.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* Where the Secret's keys are mounted in the sidecar container. */}}
{{- define "cognito-sidecar.secretDir" -}}/var/run/secrets/cognito-sidecar{{- end -}}

{{/*
The sidecar's config.yaml, built as a map and serialised with toYaml so that no value
can break the YAML. Keys are cognito-sidecar's (SPEC §3); extraConfig is merged last.
*/}}
{{- define "cognito-sidecar.config" -}}
{{- $v := .Values -}}
{{- $dir := include "cognito-sidecar.secretDir" . -}}
{{- $cognito := dict
      "region" (required "cognito.region is required" $v.cognito.region)
      "user_pool_id" (required "cognito.userPoolId is required" $v.cognito.userPoolId)
      "client_id" (required "cognito.clientId is required" $v.cognito.clientId)
      "domain" (required "cognito.domain is required" $v.cognito.domain)
      "scopes" $v.cognito.scopes -}}
{{- with $v.cognito.issuer }}{{ $_ := set $cognito "issuer" . }}{{ end -}}
{{- with $v.cognito.logoutUrl }}{{ $_ := set $cognito "logout_url" . }}{{ end -}}
{{- if $v.secrets.clientSecretKey -}}
{{- $_ := set $cognito "client_secret_file" (printf "%s/%s" $dir $v.secrets.clientSecretKey) -}}
{{- end -}}
{{- $session := dict
      "secrets_file" (printf "%s/%s" $dir (required "secrets.sessionSecretKey is required" $v.secrets.sessionSecretKey))
      "cookie_name" $v.session.cookieName
      "lifetime" $v.session.lifetime
      "refresh" $v.session.refresh -}}
{{- $access := dict
      "public_paths" $v.access.publicPaths
      "allowed_groups" $v.access.allowedGroups
      "rules" $v.access.rules
      "allowed_redirect_hosts" $v.access.allowedRedirectHosts -}}
{{- $bearer := dict "token_use" $v.bearer.tokenUse "client_ids" $v.bearer.clientIds -}}
{{- $headers := dict
      "user" $v.headers.user
      "email" $v.headers.email
      "groups" $v.headers.groups
      "sub" $v.headers.sub
      "access_token" $v.headers.accessToken
      "authorization" $v.headers.authorization -}}
{{- $config := dict
      "listen" (printf "0.0.0.0:%d" (int $v.sidecar.port))
      "upstream" (printf "http://127.0.0.1:%d" (int $v.app.port))
      "public_url" (required "publicUrl is required" $v.publicUrl)
      "trusted_proxies" $v.trustedProxies
      "cognito" $cognito
      "session" $session
      "access" $access
      "bearer" $bearer
      "headers" $headers
      "log" (dict "format" $v.log.format "level" $v.log.level) -}}
{{- if $v.metrics.enabled -}}
{{- $_ := set $config "metrics_listen" (printf "0.0.0.0:%d" (int $v.metrics.port)) -}}
{{- end -}}
{{- toYaml (mustMergeOverwrite $config (deepCopy $v.extraConfig)) -}}
{{- end -}}

{{/* The sidecar container; native mode adds restartPolicy: Always (see deployment.yaml). */}}
{{- define "cognito-sidecar.container" -}}
- name: cognito-sidecar
  image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  {{- if eq .Values.sidecar.mode "native" }}
  restartPolicy: Always
  {{- end }}
  args: [run, -c, /etc/cognito-sidecar/config.yaml]
  ports:
    - name: http
      containerPort: {{ .Values.sidecar.port }}
      protocol: TCP
    {{- if .Values.metrics.enabled }}
    - name: metrics
      containerPort: {{ .Values.metrics.port }}
      protocol: TCP
    {{- end }}
  startupProbe:
    httpGet:
      path: /healthz
      port: http
    periodSeconds: 1
    failureThreshold: 30
  livenessProbe:
    httpGet:
      path: /healthz
      port: http
    periodSeconds: 10
    timeoutSeconds: 2
    failureThreshold: 3
  readinessProbe:
    httpGet:
      path: /readyz
      port: http
    periodSeconds: 5
    timeoutSeconds: 2
    failureThreshold: 2
  {{- if gt (int .Values.sidecar.preStopSleepSeconds) 0 }}
  lifecycle:
    preStop:
      sleep:
        seconds: {{ .Values.sidecar.preStopSleepSeconds }}
  {{- end }}
  resources:
    {{- toYaml .Values.sidecar.resources | nindent 4 }}
  securityContext:
    {{- include "cognito-sidecar.containerSecurityContext" . | nindent 4 }}
  volumeMounts:
    - name: config
      mountPath: /etc/cognito-sidecar
      readOnly: true
    - name: secrets
      mountPath: {{ include "cognito-sidecar.secretDir" . }}
      readOnly: true
{{- end -}}

{{- define "cognito-sidecar.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}
