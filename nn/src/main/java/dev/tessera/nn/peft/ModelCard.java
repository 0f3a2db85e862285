package dev.tessera.nn.peft;

/** The README.md PEFT's {@code save_pretrained} writes next to an adapter, shortened to what Tessera knows. */
final class ModelCard {
    private ModelCard() {}

    static String of(PeftConfig config) {
        String base = config.baseModelNameOrPath();
        StringBuilder sb = new StringBuilder("---\n");
        if (base != null) {
            sb.append("base_model: ").append(base).append('\n');
        }
        sb.append("library_name: peft\n");
        sb.append("pipeline_tag: text-generation\n");
        sb.append("tags:\n");
        if (base != null) {
            sb.append("- base_model:adapter:").append(base).append('\n');
        }
        if (config instanceof LoraConfig) {
            sb.append("- lora\n");
        }
        sb.append("- transformers\n");
        sb.append("---\n\n");
        sb.append("# Model Card for Model ID\n\n");
        sb.append("A ").append(config.peftType()).append(" adapter in PEFT's format, written by Tessera.\n\n");
        sb.append("## How to Get Started with the Model\n\n");
        sb.append("```python\n");
        sb.append("from peft import PeftModel\n");
        sb.append("from transformers import AutoModelForCausalLM\n\n");
        sb.append("base = AutoModelForCausalLM.from_pretrained(\"").append(base == null ? "BASE_MODEL" : base).append("\")\n");
        sb.append("model = PeftModel.from_pretrained(base, \"PATH_TO_THIS_FOLDER\")\n");
        sb.append("```\n\n");
        sb.append("### Framework versions\n\n");
        sb.append("- PEFT 0.21.0 (format)\n");
        return sb.toString();
    }
}
