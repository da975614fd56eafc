/** Every container image a stage runs, so image builds and checks know exactly what a stage needs. */
import type { Spec } from "../spec/schema";

/** Sorted and unique: workers and the beat run their service's image; the etcd auth Job its tools image. */
export function stageImages(spec: Spec): string[] {
  const { nginx, kong } = spec.edge;
  const { mysql, redis, etcd } = spec.data;
  const images = [
    ...(nginx ? [nginx.image] : []),
    ...(kong ? [kong.image] : []),
    ...spec.services.map((s) => s.image),
    ...(spec.push?.kind === "tormq" ? [spec.push.image] : []),
    ...(spec.shortUrl ? [spec.shortUrl.image] : []),
    mysql.image,
    redis.image,
    ...(etcd ? [etcd.image, ...(etcd.auth ? [etcd.toolsImage] : [])] : []),
  ];
  return [...new Set(images)].sort();
}
