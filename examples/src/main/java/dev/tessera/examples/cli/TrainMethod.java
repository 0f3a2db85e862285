package dev.tessera.examples.cli;

/** {@code --method}: what {@code train} trains, by its command-line name. */
enum TrainMethod {
    FULL("full"),
    LORA("lora"),
    QLORA("qlora"),
    IA3("ia3"),
    PREFIX("prefix"),
    PROMPT("prompt"),
    ADAPTER("adapter");

    private final String cliName;

    TrainMethod(String cliName) {
        this.cliName = cliName;
    }

    /** LoRA on a full-precision or a 4-bit base: the methods --r, --alpha, --dropout and --rslora apply to. */
    boolean lora() {
        return this == LORA || this == QLORA;
    }

    /** Prefix and prompt tuning: the methods with virtual tokens. */
    boolean virtualTokens() {
        return this == PREFIX || this == PROMPT;
    }

    @Override
    public String toString() {
        return cliName;
    }
}
