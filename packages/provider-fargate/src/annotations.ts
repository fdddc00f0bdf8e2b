/** Pod annotations the Fargate provider reads. */
export const FargateAnnotations = {
  /** IAM role ARN for the task (`taskRoleArn`), instead of the provider's default task role. */
  taskRoleArn: "fargate.virtual-node.io/task-role-arn",
  /** `FARGATE` or `FARGATE_SPOT`: run this pod on that capacity provider only. */
  capacityProvider: "fargate.virtual-node.io/capacity-provider",
} as const;
