package io.coffer.kms;

import java.util.List;
import java.util.UUID;

/**
 * What one {@link Kms#runMaintenance()} pass did.
 *
 * @param rotated keys that got a new version because automatic rotation was due
 * @param deleted keys deleted because their pending-deletion window had passed
 * @param failed keys whose due work failed (logged; retried on the next pass)
 */
public record MaintenanceReport(List<UUID> rotated, List<UUID> deleted, List<UUID> failed) {
  public MaintenanceReport {
    rotated = List.copyOf(rotated);
    deleted = List.copyOf(deleted);
    failed = List.copyOf(failed);
  }
}
