{{/*
raw-manifests.imageRef: the digest-pinned image reference, or a render failure.
Call it with the root context, also from inside a manifest: {{ include "raw-manifests.imageRef" . }}.
A tag alone can be re-pointed; only a digest makes what Git says equal to what runs.
*/}}
{{- define "raw-manifests.imageRef" -}}
{{- $ref := dig "ref" "" (.Values.image | default dict) | default "" | toString -}}
{{- if not $ref -}}
{{- fail "raw-manifests: image.ref is empty but a manifest needs an image; set a digest-pinned image.ref (repo@sha256:<64 hex>) in the env values, or keep enabled: false; see docs/repository.md" -}}
{{- end -}}
{{- if not (regexMatch "^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[a-f0-9]{64}$" $ref) -}}
{{- fail (printf "raw-manifests: image.ref %q must be pinned by digest (repo@sha256:<64 hex> or repo:<tag>@sha256:<64 hex>); see docs/repository.md" $ref) -}}
{{- end -}}
{{- $tag := regexFind ":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}@sha256:" $ref | trimPrefix ":" | trimSuffix "@sha256:" -}}
{{- if has $tag (list "latest" "main") -}}
{{- fail (printf "raw-manifests: image.ref %q uses the moving tag %q; use a release tag or none (repo@sha256:<64 hex>); see docs/repository.md" $ref $tag) -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/*
raw-manifests.enabled: "true" or "". Compares the string form so that `--set-string enabled=false`
means false too.
*/}}
{{- define "raw-manifests.enabled" -}}
{{- if eq (toString .Values.enabled) "true" -}}true{{- end -}}
{{- end -}}

{{/*
raw-manifests.disabledMarker: the one non-hook object rendered while disabled, so that Argo CD
never sees an empty desired state (an empty render would prune everything and look like an error).
The same shape is rendered by helm-test-jobs.
*/}}
{{- define "raw-manifests.disabledMarker" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ printf "%s-disabled" .Release.Name }}
  labels:
    app.kubernetes.io/instance: {{ .Release.Name | quote }}
    app.kubernetes.io/managed-by: Helm
    ameide.io/component: {{ .Release.Name | quote }}
    ameide.io/disabled: "true"
data:
  reason: "enabled is false; set enabled: true and a digest-pinned image.ref in the env values to deploy"
{{- end -}}
