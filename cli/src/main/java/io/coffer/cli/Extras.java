package io.coffer.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** Subcommands of this module that are registered programmatically (they need constructor arguments). */
final class Extras {
    static final List<Supplier<Object>> SUBCOMMANDS = new ArrayList<>();

    private Extras() {
    }
}
