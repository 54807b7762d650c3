// The librdkafka client (KafkaJS-compatible API) with the service's log as its logger.

import { KafkaJS } from '@confluentinc/kafka-javascript';
import type { ClientOptions, KafkaLogSink } from '../options.ts';
import { librdkafkaSecurity } from '../security.ts';

// The client logs every connection retry while a broker is away; warnings and errors go to the
// service's structured log (or nowhere), never as raw console dumps.
function kafkaLogger(sink: KafkaLogSink | undefined): KafkaJS.Logger {
  const logger: KafkaJS.Logger = {
    info: () => {},
    debug: () => {},
    warn: (message, extra) => sink?.('warn', message, extra ?? {}),
    error: (message, extra) => sink?.('error', message, extra ?? {}),
    namespace: () => logger,
    setLogLevel: () => {},
  };
  return logger;
}

export function client(options: ClientOptions): KafkaJS.Kafka {
  return new KafkaJS.Kafka({
    kafkaJS: {
      brokers: [...options.brokers],
      clientId: options.clientId,
      logLevel: KafkaJS.logLevel.WARN,
      logger: kafkaLogger(options.log),
    },
    // librdkafka's own properties beside the KafkaJS block: TLS and SASL as on the other clients.
    ...librdkafkaSecurity(options.security),
  });
}
