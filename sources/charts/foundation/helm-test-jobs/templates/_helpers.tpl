{{/*
helm-test-jobs.imageRef: the digest-pinned image reference, or a render failure.
Same rule as raw-manifests.imageRef: only a digest makes what Git says equal to what runs.
*/}}
{{- define "helm-test-jobs.imageRef" -}}
{{- $ref := dig "ref" "" (.Values.image | default dict) | default "" | toString -}}
{{- if not $ref -}}
{{- fail "helm-test-jobs: enabled is true but image.ref is empty; set a digest-pinned image.ref (repo@sha256:<64 hex>) in the env values, or keep enabled: false; see docs/repository.md" -}}
{{- end -}}
{{- if not (regexMatch "^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[a-f0-9]{64}$" $ref) -}}
{{- fail (printf "helm-test-jobs: image.ref %q must be pinned by digest (repo@sha256:<64 hex> or repo:<tag>@sha256:<64 hex>); see docs/repository.md" $ref) -}}
{{- end -}}
{{- $tag := regexFind ":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}@sha256:" $ref | trimPrefix ":" | trimSuffix "@sha256:" -}}
{{- if has $tag (list "latest" "main") -}}
{{- fail (printf "helm-test-jobs: image.ref %q uses the moving tag %q; use a release tag or none (repo@sha256:<64 hex>); see docs/repository.md" $ref $tag) -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* "true" or "": the string form, so that `--set-string enabled=false` means false too. */}}
{{- define "helm-test-jobs.enabled" -}}
{{- if eq (toString .Values.enabled) "true" -}}true{{- end -}}
{{- end -}}

{{/* Labels shared by every object of the release. */}}
{{- define "helm-test-jobs.labels" -}}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
app.kubernetes.io/managed-by: Helm
ameide.io/component: {{ .Release.Name | quote }}
{{- end -}}

{{/*
helm-test-jobs.disabledMarker: the one non-hook object rendered while disabled, so that Argo CD
never sees an empty desired state. Same shape as raw-manifests.disabledMarker.
*/}}
{{- define "helm-test-jobs.disabledMarker" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ printf "%s-disabled" .Release.Name }}
  labels:
    {{- include "helm-test-jobs.labels" . | nindent 4 }}
    ameide.io/disabled: "true"
data:
  reason: "enabled is false; set enabled: true and a digest-pinned image.ref in the env values to deploy"
{{- end -}}

{{/*
helm-test-jobs.int: (list <value> <what> <min>) -> the value as an integer, or a render failure.
YAML numbers arrive as float64 and --set numbers as int64; strings and fractions are refused.
*/}}
{{- define "helm-test-jobs.int" -}}
{{- $v := index . 0 -}}{{- $what := index . 1 -}}{{- $min := index . 2 -}}
{{- if not (or (kindIs "int" $v) (kindIs "int64" $v) (kindIs "float64" $v)) -}}
{{- fail (printf "helm-test-jobs: %s must be an integer, got %v" $what $v) -}}
{{- end -}}
{{- if or (ne (toString (int64 $v)) (toString $v)) (lt (int64 $v) (int64 $min)) -}}
{{- fail (printf "helm-test-jobs: %s must be an integer >= %d, got %v" $what $min $v) -}}
{{- end -}}
{{- int64 $v -}}
{{- end -}}
