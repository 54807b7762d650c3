// Types for parse-prometheus-text-format 1.1.1 (the package ships none): the families it returns.
declare module 'parse-prometheus-text-format' {
  interface Sample {
    readonly labels?: Readonly<Record<string, string>>;
    readonly value?: string;
    readonly buckets?: Readonly<Record<string, string>>;
    readonly count?: string;
    readonly sum?: string;
  }
  interface Family {
    readonly name: string;
    readonly help: string;
    readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    readonly metrics: readonly Sample[];
  }
  // biome-ignore lint/style/noDefaultExport: the package's own export is a default one.
  export default function parsePrometheusTextFormat(text: string): Family[];
}
