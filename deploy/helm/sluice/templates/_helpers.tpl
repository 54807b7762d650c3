{{/* Names and labels. */}}
{{- define "sluice.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "sluice.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "ingest"). */}}
{{- define "sluice.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sluice.secretName" -}}
{{- if .Values.secrets.create -}}{{ include "sluice.fullname" . }}{{- else -}}{{ required "secrets.existingSecret is required when secrets.create is false" .Values.secrets.existingSecret }}{{- end -}}
{{- end -}}

{{- define "sluice.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ default (include "sluice.fullname" .) .Values.serviceAccount.name }}{{- else -}}{{ default "default" .Values.serviceAccount.name }}{{- end -}}
{{- end -}}

{{/* An image: (dict "root" $ "name" "sluice-ingest"). */}}
{{- define "sluice.image" -}}
{{- $tag := default .root.Chart.AppVersion .root.Values.image.tag -}}
{{- if .root.Values.image.registry -}}{{ printf "%s/%s:%s" (trimSuffix "/" .root.Values.image.registry) .name $tag }}{{- else -}}{{ printf "%s:%s" .name $tag }}{{- end -}}
{{- end -}}

{{/* An environment variable from the chart's Secret (or yours): (dict "root" $ "name" "SLUICE_DATABASE_URL" "key" "databaseUrl" "optional" false). */}}
{{- define "sluice.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ include "sluice.secretName" .root }}
      key: {{ .key }}
      optional: {{ .optional | default false }}
{{- end -}}

{{/* Kafka's address and security (ingest and the processor). */}}
{{- define "sluice.kafkaEnv" -}}
- name: SLUICE_KAFKA_BROKERS
  value: {{ .Values.kafka.brokers | quote }}
- name: SLUICE_TOPIC_PREFIX
  value: {{ .Values.kafka.topicPrefix | quote }}
- name: SLUICE_KAFKA_SECURITY_PROTOCOL
  value: {{ .Values.kafka.securityProtocol | quote }}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol }}
- name: SLUICE_KAFKA_SASL_MECHANISM
  value: {{ required "kafka.saslMechanism is required with a SASL protocol" .Values.kafka.saslMechanism | quote }}
- name: SLUICE_KAFKA_SASL_USERNAME
  value: {{ required "kafka.saslUsername is required with a SASL protocol" .Values.kafka.saslUsername | quote }}
{{ include "sluice.secretEnv" (dict "root" . "name" "SLUICE_KAFKA_SASL_PASSWORD" "key" "kafkaSaslPassword") }}
{{- end }}
{{- if and .Values.tls.caSecret .Values.tls.kafka }}
- name: SLUICE_KAFKA_CA_FILE
  value: /etc/sluice/ca/ca.pem
{{- end }}
{{- end -}}

{{/* The state Redis and its CA. */}}
{{- define "sluice.redisEnv" -}}
{{ include "sluice.secretEnv" (dict "root" . "name" "SLUICE_REDIS_URL" "key" "redisUrl") }}
{{- if and .Values.tls.caSecret .Values.tls.redis }}
- name: SLUICE_REDIS_CA_FILE
  value: /etc/sluice/ca/ca.pem
{{- end }}
{{- end -}}

{{/* Tracing and logs (ingest, the processor, query). */}}
{{- define "sluice.telemetryEnv" -}}
- name: SLUICE_OTLP_ENDPOINT
  value: {{ .Values.config.otlpEndpoint | quote }}
- name: SLUICE_TRACE_SAMPLE_RATIO
  value: {{ .Values.config.traceSampleRatio | quote }}
- name: SLUICE_LOG_LEVEL
  value: {{ .Values.config.logLevel | quote }}
{{- end -}}

{{/*
One Deployment with its probes: (dict "root" $ "component" "ingest" "values" .Values.ingest
"image" "sluice-ingest" "env" (list of env entries as YAML) "replicas" true/false).
Readiness (/readyz: the service's stores take its writes) is apart from liveness (/healthz: the
process answers), so a pod whose Redis is away leaves the Service without being restarted.
*/}}
{{- define "sluice.deployment" -}}
{{- $root := .root -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "sluice.fullname" $root }}-{{ .component }}
  labels:
    {{- include "sluice.labels" $root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  {{- if .replicas }}
  replicas: {{ .values.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "sluice.selector" (dict "root" $root "component" .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "sluice.selector" (dict "root" $root "component" .component) | nindent 8 }}
      {{- if $root.Values.metrics.annotations }}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: {{ .values.port | quote }}
        prometheus.io/path: /metrics
      {{- end }}
    spec:
      serviceAccountName: {{ include "sluice.serviceAccountName" $root }}
      automountServiceAccountToken: false
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      terminationGracePeriodSeconds: {{ .values.terminationGracePeriodSeconds }}
      containers:
        - name: {{ .component }}
          image: {{ include "sluice.image" (dict "root" $root "name" .image) }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          ports:
            - name: http
              containerPort: {{ .values.port }}
              protocol: TCP
          env:
            {{- .env | nindent 12 }}
            {{- if .bun }}
            # Bun sizes its garbage collector's heap growth by the RAM it sees, the node's, not
            # this container's limit: told the limit, it collects before the kernel kills it
            # (Bun's --max-old-space-size; a processor at full rate grew to ~720 MiB without it).
            - name: BUN_JSC_forceRAMSize
              valueFrom:
                resourceFieldRef:
                  containerName: {{ .component }}
                  resource: limits.memory
            {{- end }}
          startupProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet: { path: /healthz, port: http }
            periodSeconds: 10
            timeoutSeconds: 3
            failureThreshold: 3
          readinessProbe:
            httpGet: { path: /readyz, port: http }
            periodSeconds: 5
            timeoutSeconds: 3
            failureThreshold: 2
          # A few seconds before the drain, so the endpoint is gone from every Service and load
          # balancer before the process stops accepting (the drain itself gives up after 30 s).
          lifecycle:
            preStop:
              exec:
                command: ["sleep", "5"]
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.securityContext | nindent 12 }}
          volumeMounts:
            # Writable scratch (Deno's cache) on a read-only root filesystem.
            - name: tmp
              mountPath: /tmp
            {{- if $root.Values.tls.caSecret }}
            - name: ca
              mountPath: /etc/sluice/ca
              readOnly: true
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: { sizeLimit: 256Mi }
        {{- if $root.Values.tls.caSecret }}
        - name: ca
          secret:
            secretName: {{ $root.Values.tls.caSecret }}
            items:
              - key: ca.pem
                path: ca.pem
        {{- end }}
{{- end -}}

{{/* A ClusterIP Service for a component's port. */}}
{{- define "sluice.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "sluice.fullname" .root }}-{{ .component }}
  labels:
    {{- include "sluice.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  type: ClusterIP
  selector:
    {{- include "sluice.selector" (dict "root" .root "component" .component) | nindent 4 }}
  ports:
    - name: http
      port: {{ .values.port }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{/* A CPU HorizontalPodAutoscaler (edge, ingest, query: stateless). */}}
{{- define "sluice.hpa" -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "sluice.fullname" .root }}-{{ .component }}
  labels:
    {{- include "sluice.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "sluice.fullname" .root }}-{{ .component }}
  minReplicas: {{ .values.autoscaling.minReplicas }}
  maxReplicas: {{ .values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .values.autoscaling.targetCPUUtilizationPercentage }}
{{- end -}}

{{/* A PodDisruptionBudget: a node drain takes at most maxUnavailable pods of a component at once. */}}
{{- define "sluice.pdb" -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "sluice.fullname" .root }}-{{ .component }}
  labels:
    {{- include "sluice.labels" .root | nindent 4 }}
    app.kubernetes.io/component: {{ .component }}
spec:
  maxUnavailable: {{ .root.Values.podDisruptionBudget.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "sluice.selector" (dict "root" .root "component" .component) | nindent 6 }}
{{- end -}}
