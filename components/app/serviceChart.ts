/**
 * Renders charts/service through the provider's helm.v4.Chart. Values are plain data (see
 * serviceValues.ts), so a preview shows exactly what an update will apply.
 */
import * as path from "path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceChartValues } from "./serviceValues";

export const SERVICE_CHART = path.join(__dirname, "..", "..", "charts", "service");

export function serviceChart(
  name: string,
  namespace: string,
  values: ServiceChartValues,
  opts: pulumi.ComponentResourceOptions,
): k8s.helm.v4.Chart {
  return new k8s.helm.v4.Chart(
    name,
    {
      chart: SERVICE_CHART,
      namespace,
      // The chart's own values.yaml documents defaults; Stagecraft passes every value.
      values: values as unknown as Record<string, pulumi.Input<unknown>>,
    },
    opts,
  );
}
