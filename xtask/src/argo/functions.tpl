{{- /*
The named templates that make helm's engine evaluate templates as Argo CD's ApplicationSet
controller does (docs/argo-model.md, "Go templates"). Each is called with a list: the key helpers
with the value and the keys of a field chain, the functions with their arguments. A failure is
`fail` with the message Go's text/template gives in Argo CD.
*/ -}}

{{- /* missingkey=error: every key of the chain is there, or Go's error for the first that is not. */ -}}
{{- define "appset.key" -}}
{{- $v := index . 0 -}}
{{- range $i, $k := rest . -}}
{{- if kindIs "invalid" $v }}{{ fail (printf "nil pointer evaluating interface {}.%s" $k) }}{{ end -}}
{{- if not (kindIs "map" $v) }}{{ fail (printf "can't evaluate field %s in type %s" $k (ternary (typeOf $v) "interface {}" (eq $i 0))) }}{{ end -}}
{{- if not (hasKey $v $k) }}{{ fail (printf "map has no entry for key %q" $k) }}{{ end -}}
{{- $v = index $v $k -}}
{{- end -}}
ok
{{- end -}}

{{- /* missingkey=default (or invalid): "ok" when every key of the chain is there, "" at the
first missing one (the chain is then no value), Go's error when a step is no map. */ -}}
{{- define "appset.has" -}}
{{- $v := index . 0 -}}
{{- $found := true -}}
{{- range $i, $k := rest . -}}
{{- if $found -}}
{{- if kindIs "invalid" $v }}{{ fail (printf "nil pointer evaluating interface {}.%s" $k) }}{{ end -}}
{{- if not (kindIs "map" $v) }}{{ fail (printf "can't evaluate field %s in type %s" $k (ternary (typeOf $v) "interface {}" (eq $i 0))) }}{{ end -}}
{{- if hasKey $v $k }}{{ $v = index $v $k }}{{ else }}{{ $found = false }}{{ end -}}
{{- end -}}
{{- end -}}
{{- if $found }}ok{{ end -}}
{{- end -}}

{{- /* One string argument, as Go checks a func(string) call. */ -}}
{{- define "appset.string" -}}
{{- $name := index . 0 }}{{ $args := index . 1 -}}
{{- if ne (len $args) 1 }}{{ fail (printf "wrong number of args for %s: want 1 got %d" $name (len $args)) }}{{ end -}}
{{- if not (kindIs "string" (index $args 0)) }}{{ fail (printf "wrong type for value; expected string; got %s" (include "appset.type" (index $args 0))) }}{{ end -}}
{{- end -}}

{{- define "appset.type" }}{{ if kindIs "invalid" . }}nil{{ else }}{{ typeOf . }}{{ end }}{{ end -}}

{{- /* normalize: utils.SanitizeName (applicationset/utils/template_functions.go). */ -}}
{{- define "appset.normalize" -}}
{{- include "appset.string" (list "normalize" .) -}}
{{- regexReplaceAll "[^-a-z0-9.]" (lower (index . 0)) "-" | trunc 253 | trimAll "-." -}}
{{- end -}}

{{- /* slugify [maxSize [smartTruncate]] name: utils.SlugifyName (applicationset/utils/utils.go),
gosimple/slug's Make over the sanitized name; the arguments are asserted in order as Go does. */ -}}
{{- define "appset.slugify" -}}
{{- $n := len . -}}
{{- $max := 50 }}{{ $smart := true }}{{ $name := "" -}}
{{- range $i, $arg := . -}}
{{- $want := ternary "string" (ternary "int" "bool" (eq $i 0)) (eq $i (sub $n 1)) -}}
{{- if or (eq $i (sub $n 1)) (lt $i 2) -}}
{{- if not (kindIs $want $arg) }}{{ fail (printf "error calling slugify: interface conversion: interface {} is %s, not %s" (include "appset.type" $arg) $want) }}{{ end -}}
{{- if eq $i (sub $n 1) }}{{ $name = $arg }}{{ else if eq $i 0 }}{{ $max = $arg }}{{ else }}{{ $smart = $arg }}{{ end -}}
{{- end -}}
{{- end -}}
{{- $s := include "appset.normalize" (list $name) -}}
{{- if and (not $smart) (ge (len $s) $max) -}}
{{- if lt $max 0 }}{{ fail (printf "error calling slugify: runtime error: slice bounds out of range [:%d]" $max) }}{{ end -}}
{{- $s = trunc $max $s -}}
{{- end -}}
{{- $s = regexReplaceAll "-+" (regexReplaceAll "[^a-zA-Z0-9-_]" $s "-") "-" | trimAll "-_" -}}
{{- if and $smart (gt $max 0) (gt (len $s) $max) -}}
{{- $cut := regexFind "^.*-" (trunc (int (add1 $max)) $s) -}}
{{- $s = ternary (trimSuffix "-" $cut) (trunc $max $s) (ne $cut "") -}}
{{- end -}}
{{- $s -}}
{{- end -}}

{{- /* fromJson: sprig's (any JSON value; nil when the text is no JSON). Prints JSON for
mustFromJson to read back: the value, or null. */ -}}
{{- define "appset.fromJson" -}}
{{- include "appset.string" (list "fromJson" .) -}}
{{- $wrapped := fromJson (printf "{\"v\":%s\n}" (index . 0)) -}}
{{- if and (eq (len $wrapped) 1) (hasKey $wrapped "v") }}{{ toJson $wrapped.v }}{{ else }}null{{ end -}}
{{- end -}}

{{- /* fromYaml and fromYamlArray: Argo CD's own (template_functions.go), which fail the template
on text that is no YAML map (list), where helm's return the error as data. Prints the text for
helm's function to read. */ -}}
{{- define "appset.fromYaml" -}}
{{- include "appset.string" (list "fromYaml" .) -}}
{{- $m := fromYaml (index . 0) -}}
{{- if and (eq (len $m) 1) (hasKey $m "Error") -}}
{{- if include "appset.yamlError" $m.Error }}{{ fail (printf "error calling fromYaml: %s" $m.Error) }}{{ end -}}
{{- end -}}
{{- index . 0 -}}
{{- end -}}

{{- define "appset.fromYamlArray" -}}
{{- include "appset.string" (list "fromYamlArray" .) -}}
{{- $a := fromYamlArray (index . 0) -}}
{{- if eq (len $a) 1 -}}
{{- if include "appset.yamlError" (first $a) }}{{ fail (printf "error calling fromYamlArray: %s" (first $a)) }}{{ end -}}
{{- end -}}
{{- index . 0 -}}
{{- end -}}

{{- define "appset.yamlError" -}}
{{- if and (kindIs "string" .) (or (hasPrefix "error converting YAML to JSON" .) (hasPrefix "error unmarshaling JSON" .)) }}yes{{ end -}}
{{- end -}}
